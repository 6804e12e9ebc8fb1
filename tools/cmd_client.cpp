// `gradcore client --port 7878 [--tls [--tls-ca CA]] predict FILE... | info |
// health | stats | reload (--path P | --rollback)`: talk to `gradcore serve`.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "serve/client.h"
#include "serve/reload_token.h"
#include "tools/command.h"
#include "tools/data/idx.h"
#include "tools/data/predict_inputs.h"
#include "tools/data/preprocess.h"

namespace gc::tools {
namespace {

using serve::protocol::Status;

struct ClientArgs {
  std::string host = "127.0.0.1";
  int port = 7878;
  int timeout_ms = 10000;
  std::vector<std::string> files;
  bool logits = false;
  std::string reload_path;
  bool rollback = false;
  std::string token_file;
  bool tls = false;
  std::string tls_ca;
};

void check(const serve::protocol::ResponseBase& response) {
  if (response.status != Status::ok)
    throw Failure(std::string("server answered ") + serve::protocol::status_name(response.status) + ": " +
                  response.message);
}

struct NamedImage {
  std::string name;
  data::Image28 pixels;
};

// An IDX images file gives all its images; any other file is a picture, made
// MNIST-like by the same preprocessing `gradcore predict` uses.
std::vector<NamedImage> load_images(const std::vector<std::string>& files) {
  std::vector<NamedImage> images;
  for (const auto& file : files) {
    if (data::has_idx_images_magic(file)) {
      auto batch = data::load_idx_image_batch(file);
      for (size_t i = 0; i < batch.size(); ++i) images.push_back({file + "[" + std::to_string(i) + "]", batch[i]});
    } else {
      images.push_back({file, data::preprocess_image_file(file)});
    }
  }
  return images;
}

void predict(serve::Client& client, const ClientArgs& args) {
  auto images = load_images(args.files);
  int per_request = nlohmann::json::parse(client.info().json).value("max_images_per_request", 1);
  for (size_t first = 0; first < images.size(); first += per_request) {
    int count = static_cast<int>(std::min<size_t>(per_request, images.size() - first));
    std::vector<uint8_t> pixels;
    for (int i = 0; i < count; ++i)
      pixels.insert(pixels.end(), images[first + i].pixels.begin(), images[first + i].pixels.end());
    auto response = client.predict(pixels, count, args.logits);
    check(response);
    for (int i = 0; i < count; ++i) {
      const auto& p = response.predictions[i];
      std::printf("%s\tclass %d\tp %.4f\tmodel v%lld", images[first + i].name.c_str(), p.predicted_class,
                  p.probabilities[p.predicted_class], static_cast<long long>(response.model_version));
      if (args.logits) {
        std::printf("\tlogits");
        for (float l : p.logits) std::printf(" %.4f", l);
      }
      std::printf("\n");
    }
  }
}

void setup(CLI::App& app) {
  auto args = std::make_shared<ClientArgs>();
  auto* cmd = app.add_subcommand("client", "Send requests to a running `gradcore serve`");
  cmd->add_option("--host", args->host, "Server address")->capture_default_str();
  cmd->add_option("--port", args->port, "Server port")->capture_default_str();
  cmd->add_option("--timeout-ms", args->timeout_ms, "Give up waiting after this long")->capture_default_str();
  cmd->add_flag("--tls", args->tls, "Connect with TLS; the server's certificate must be for --host");
  cmd->add_option("--tls-ca", args->tls_ca, "PEM file of the CAs to trust (default: the system's)")
      ->check(CLI::ExistingFile)
      ->needs("--tls");
  cmd->require_subcommand(1);
  auto connect = [args] {
    if (!args->tls) return serve::Client(args->host, args->port, args->timeout_ms);
    auto trust = serve::tls::Context::client(args->tls_ca);
    return serve::Client(args->host, args->port, args->timeout_ms, &trust);
  };

  auto* predict_cmd = cmd->add_subcommand("predict", "Classify images: IDX image files or pictures (PNG, JPG, ...)");
  predict_cmd->add_option("files", args->files, "Image files")->required()->check(CLI::ExistingFile);
  predict_cmd->add_flag("--logits", args->logits, "Also print the logits");
  predict_cmd->callback([args, connect] {
    auto client = connect();
    predict(client, *args);
  });

  cmd->add_subcommand("info", "Model name, version, labels and input")->callback([connect] {
    auto client = connect();
    auto response = client.info();
    check(response);
    std::printf("%s\n", nlohmann::json::parse(response.json).dump(2).c_str());
  });
  cmd->add_subcommand("health", "Whether the server is serving, and its model version")->callback([connect] {
    auto client = connect();
    auto response = client.health();
    check(response);
    std::printf("%s model_version=%lld\n",
                response.state == serve::protocol::HealthState::serving ? "serving" : "draining",
                static_cast<long long>(response.model_version));
  });
  cmd->add_subcommand("stats", "Request counts, batch sizes, latency percentiles")->callback([connect] {
    auto client = connect();
    auto response = client.stats();
    check(response);
    std::printf("%s\n", nlohmann::json::parse(response.json).dump(2).c_str());
  });

  auto* reload_cmd = cmd->add_subcommand("reload", "Load a model file on the server, or roll back");
  auto* path_opt = reload_cmd->add_option("--path", args->reload_path, "Model file, as the server sees it");
  auto* rollback_opt = reload_cmd->add_flag("--rollback", args->rollback, "Return to the previous model");
  path_opt->excludes(rollback_opt);
  reload_cmd->add_option("--token-file", args->token_file, "File holding the token (default: env GRADCORE_RELOAD_TOKEN)");
  reload_cmd->callback([args, connect] {
    if (args->reload_path.empty() && !args->rollback) throw Failure("reload needs --path P or --rollback");
    auto client = connect();
    auto response = client.reload(serve::read_reload_token(args->token_file), args->rollback ? "" : args->reload_path);
    check(response);
    std::printf("serving model version %lld (previous %lld)\n", static_cast<long long>(response.model_version),
                static_cast<long long>(response.previous_version));
  });
}

CommandRegistration registration{"client", setup};

}  // namespace
}  // namespace gc::tools
