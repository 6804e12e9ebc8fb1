// gradcore import: an ONNX classifier (e.g. from torch.onnx.export) as a
// gradcore model file (docs/ONNX.md). eval, predict, serve and train
// --init-from also open .onnx files directly, through the same importer.
#include <cstdio>

#include "serialize/model_store.h"
#include "serialize/onnx_load.h"
#include "tools/command.h"

namespace gc::tools {
namespace {

struct ImportArgs {
  std::string onnx;
  std::string out;
};

void run_import(const ImportArgs& a) {
  LoadedModel loaded = import_onnx(a.onnx);
  save_model(a.out, *loaded.model, loaded.info);
  const ModelInfo::Origin& o = loaded.info.origin;
  std::printf("%s: %s (%lld parameters) from %s (producer '%s', opset %lld) written\n", a.out.c_str(),
              loaded.model->spec().c_str(), static_cast<long long>(loaded.model->parameter_count()), a.onnx.c_str(),
              o.producer.c_str(), static_cast<long long>(o.opset));
}

void setup(CLI::App& app) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* cmd = app.add_subcommand("import", "Convert an ONNX classifier (e.g. from torch.onnx.export) to a .gcm model");
  cmd->add_option("onnx", args->onnx, "ONNX file")->required();
  cmd->add_option("--out", args->out, "Model file to write (.gcm)")->required();
  cmd->callback([args] { run_import(*args); });
}

CommandRegistration registration{"import", setup};

}  // namespace
}  // namespace gc::tools
