// gradcore export: a saved model as an ONNX file (docs/ONNX.md), checked by
// the ONNX checker before it is written.
#include <cstdio>
#include <filesystem>

#include "serialize/model_store.h"
#include "serialize/onnx_export.h"
#include "serialize/onnx_load.h"
#include "tools/command.h"

namespace gc::tools {
namespace {

struct ExportArgs {
  std::string model = "models/mnist.gcm";
  std::string out;
  OnnxExportOptions options;
};

void run_export(const ExportArgs& a) {
  LoadedModel loaded = load_model_or_onnx(a.model);
  loaded.model->set_training_mode(false);
  save_onnx(a.out, *loaded.model, loaded.info, a.options);
  std::printf("%s: %s (%s v%lld, opset %d, %s input) written, %lld bytes\n", a.out.c_str(),
              loaded.model->spec().c_str(), loaded.info.name.c_str(), static_cast<long long>(loaded.info.version),
              a.options.opset, a.options.raw_input ? "uint8 pixel" : "float32 normalised",
              static_cast<long long>(std::filesystem::file_size(a.out)));
}

void setup(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export", "Write a saved model as an ONNX file (checked by the ONNX checker)");
  cmd->add_option("--model", args->model, "Model file (.gcm)")->capture_default_str();
  cmd->add_option("--out", args->out, "ONNX file to write")->required();
  cmd->add_option("--opset", args->options.opset, "ONNX opset")
      ->check(CLI::Range(kOnnxMinOpset, kOnnxMaxOpset))
      ->capture_default_str();
  cmd->add_flag("--raw-input", args->options.raw_input,
                "Take uint8 pixels [N,1,28,28] and do the model's preprocessing in the graph");
  cmd->callback([args] { run_export(*args); });
}

CommandRegistration registration{"export", setup};

}  // namespace
}  // namespace gc::tools
