// `gradcore serve --model FILE --port 7878 [--http-port 8080] ...`: serve the
// digit classifier over TCP (docs/PROTOCOL.md) and HTTP (docs/HTTP.md).
// SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the model file.
#include <omp.h>
#include <sys/resource.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "infer/classifier.h"
#include "serialize/onnx_load.h"
#include "serve/model.h"
#include "serve/reload_token.h"
#include "serve/server.h"
#include "tools/command.h"
#include "tools/data/preprocess.h"
#include "tools/trusted_keys.h"

namespace gc::tools {
namespace {

struct ServeArgs {
  std::string model_path;
  std::string device = "cpu";
  int threads = 0;
  std::string token_file;
  std::string trusted_keys;  // directory; empty: any well-formed model loads
  serve::ServerOptions server;
};

// A gradcore model file (.gcm, or .onnx imported) as the server sees it: the Classifier does the
// preprocessing (the file's input.scale/mean/std) and the forward pass.
class ServedModel : public serve::InferenceModel {
 public:
  ServedModel(const std::string& path, const serialize::TrustedKeys* trusted)
      : classifier_(std::make_unique<infer::Classifier>(load_model_or_onnx(path, trusted))) {
    const auto& shape = classifier_->info().input_shape;
    if (shape.size() != 3)
      throw std::runtime_error(path + ": metadata 'input.shape' has " + std::to_string(shape.size()) +
                               " dimensions, the server needs [channels, height, width]");
    architecture_ = classifier_->architecture();
  }
  std::string name() const override { return classifier_->info().name; }
  int64_t version() const override { return classifier_->info().version; }
  std::string architecture() const override { return architecture_; }
  std::string precision() const override { return classifier_->precision(); }
  std::vector<std::string> labels() const override { return classifier_->info().labels; }
  std::array<int, 3> input_shape() const override {
    const auto& s = classifier_->info().input_shape;
    return {static_cast<int>(s[0]), static_cast<int>(s[1]), static_cast<int>(s[2])};
  }
  serve::Normalisation normalisation() const override {
    const ModelInfo& i = classifier_->info();
    return {i.input_scale, i.input_mean, i.input_std};
  }
  void normalise(const uint8_t* pixels, int n, float* out) const override { classifier_->normalise(pixels, n, out); }
  void forward(const float* images, int n, float* logits) const override { classifier_->forward(images, n, logits); }
  std::string file_checksum() const override {
    char text[32];
    std::snprintf(text, sizeof text, "crc32c:0x%08X", classifier_->origin().file_crc32c);
    return text;
  }
  std::string signer() const override { return classifier_->origin().signer; }

 private:
  std::unique_ptr<infer::Classifier> classifier_;  // forward() is serialised inside
  std::string architecture_;
};

// Turns a gradcore model file (docs/FORMAT.md) into a serve::InferenceModel.
// Throws with a one-line reason for a corrupt, incompatible or (with
// --trusted-keys) untrusted file: it is also the loader behind RELOAD and
// SIGHUP, called on the server's loader thread. The key directory is read on
// every load, so keys can be added or withdrawn without a restart.
std::shared_ptr<const serve::InferenceModel> load_model_for_serving(const std::string& path, const ServeArgs& args) {
  if (args.device != "cpu")
    throw std::runtime_error("--device " + args.device + " is not available for serving yet (use cpu)");
  if (args.threads > 0) omp_set_num_threads(args.threads);
  const auto trusted = load_trusted_keys(args.trusted_keys);
  try {
    return std::make_shared<ServedModel>(path, trusted ? &*trusted : nullptr);
  } catch (const serialize::SignatureError& e) {
    throw serve::ModelRefused(e.what());
  }
}

// Each connection holds a descriptor: lift the soft limit to the hard one.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

void serve_command(const ServeArgs& args) {
  serve::ServerOptions options = args.server;
  options.reload_token = serve::read_reload_token(args.token_file);
  options.handle_signals = true;
  // HTTP infers with "preprocess": "mnist_style" (the page's drawings) get predict's preprocessing.
  options.preprocessor = [](const uint8_t* gray, int width, int height) {
    data::GrayImage image{width, height, std::vector<uint8_t>(gray, gray + static_cast<size_t>(width) * height)};
    data::Image28 digit = data::mnist_style(image, "the picture");
    return std::vector<uint8_t>(digit.begin(), digit.end());
  };
  raise_descriptor_limit();
  serve::ModelLoader loader = [args](const std::string& path) { return load_model_for_serving(path, args); };
  serve::Server server(options, loader, args.model_path);
  server.run();
}

void setup(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto& o = args->server;
  auto* cmd = app.add_subcommand("serve", "Serve the digit classifier over TCP (docs/PROTOCOL.md) and HTTP (docs/HTTP.md)");
  cmd->add_option("--model", args->model_path, "Model file to serve (.gcm, or .onnx imported on the fly)")->required();
  cmd->add_option("--port", o.port, "TCP port (0: any free port)")->capture_default_str();
  cmd->add_option("--bind", o.bind_address,
                  "IPv4 or IPv6 address to listen on (0.0.0.0, :: for all; other than loopback, needs --tls-cert "
                  "or --insecure)")
      ->capture_default_str();
  auto* cert = cmd->add_option("--tls-cert", o.tls_cert_file,
                               "PEM certificate chain (the server's first): TLS 1.2+ on the port and HTTPS on "
                               "--http-port")
                   ->check(CLI::ExistingFile);
  auto* key = cmd->add_option("--tls-key", o.tls_key_file, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  cmd->add_flag("--insecure", o.insecure, "Allow plaintext on a --bind address that other machines can reach");
  cmd->add_option("--device", args->device, "Where the model runs")
      ->check(CLI::IsMember({"cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "CPU threads for the model's forward pass (0: default)")
      ->check(kNonNegative);
  cmd->add_option("--max-batch", o.max_batch, "Images per forward pass and per request")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  cmd->add_option("--max-delay-us", o.max_delay_us, "Wait up to this long for a fuller batch, while a connection the last batch answered has not sent again")
      ->check(kNonNegative)
      ->capture_default_str();
  cmd->add_option("--max-connections", o.max_connections, "Open connections at most")
      ->check(kPositive)
      ->capture_default_str();
  cmd->add_option("--max-queue", o.max_queue, "Queued images at most; more are answered OVERLOADED")
      ->check(kPositive)
      ->capture_default_str();
  cmd->add_option("--idle-timeout-ms", o.idle_timeout_ms, "Close connections idle this long (0: never)")
      ->check(kNonNegative)
      ->capture_default_str();
  cmd->add_option("--min-frame-rate", o.min_frame_bytes_per_s,
                  "Bytes/s a frame's payload must arrive at, on top of --idle-timeout-ms from its first byte")
      ->check(kPositive)
      ->capture_default_str();
  cmd->add_option("--drain-timeout-ms", o.drain_timeout_ms, "At shutdown, the longest to wait for answers")
      ->check(kNonNegative)
      ->capture_default_str();
  cmd->add_option("--token-file", args->token_file,
                  "File holding the RELOAD token (default: env GRADCORE_RELOAD_TOKEN; neither: RELOAD refused)");
  cmd->add_option("--trusted-keys", args->trusted_keys, kTrustedKeysHelp);
  cmd->add_option("--http-port", o.http_port,
                  "Serve HTTP on this port: the Open Inference Protocol (KServe v2), /metrics, /healthz and the "
                  "draw-a-digit page at / (-1: off, 0: any free port)")
      ->capture_default_str();
  auto* canary = cmd->add_option("--canary", o.canary_model_path,
                                 "A candidate model that answers --canary-percent of the requests (by request id)")
                     ->check(CLI::ExistingFile);
  cmd->add_option("--canary-percent", o.canary_percent, "Share of requests the --canary model answers")
      ->check(CLI::Range(0.0, 100.0))
      ->needs(canary)
      ->capture_default_str();
  auto* shadow = cmd->add_option("--shadow", o.shadow_model_path,
                                 "A candidate model that also runs on --shadow-percent of the batches, on its own "
                                 "thread, answering nobody; STATS and /metrics compare it with the live model")
                     ->check(CLI::ExistingFile);
  cmd->add_option("--shadow-percent", o.shadow_percent, "Share of batches the --shadow model runs on")
      ->check(CLI::Range(0.0, 100.0))
      ->needs(shadow)
      ->capture_default_str();
  cmd->add_option("--http-max-body", o.http_max_body_bytes, "HTTP request bodies larger than this get 413")
      ->check(kPositive)
      ->capture_default_str();
  cmd->callback([args] { serve_command(*args); });
}

CommandRegistration registration{"serve", setup};

}  // namespace
}  // namespace gc::tools
