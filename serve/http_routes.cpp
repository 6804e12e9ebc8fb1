// The HTTP port (docs/HTTP.md): the Open Inference Protocol's health,
// metadata and infer routes, /metrics, /healthz, /stats and the page. Infer
// requests join the TCP protocol's batching queue; every other route is
// answered at once. A connection's requests are taken one at a time, so
// pipelined requests are answered in order.
#include "serve/event_loop.h"
#include "serve/http_page.h"
#include "serve/log.h"

#include <nlohmann/json.hpp>

#include <charconv>

namespace gc::serve {

namespace {

// "/v2/models/m/infer" -> {"v2", "models", "m", "infer"}
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    size_t end = std::min(path.find('/'), path.size());
    parts.push_back(path.substr(0, end));
    path.remove_prefix(end);
  }
  return parts;
}

std::optional<int64_t> parse_version(std::string_view text) {
  int64_t v = -1;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (error != std::errc{} || end != text.data() + text.size() || v < 0) return std::nullopt;
  return v;
}

}  // namespace

void Server::EventLoop::parse_http_requests(Connection& c) {
  while (c.owed == 0 && !c.http_done) {
    auto bytes = c.unparsed();
    if (bytes.empty()) return;
    auto result = c.http->feed(bytes);
    c.input_begin += result.consumed;
    if (c.http->take_continue()) {  // the client waits for this before it sends the body
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      c.output.insert(c.output.end(), kContinue.begin(), kContinue.end());
      queue_flush(c);
    }
    if (result.state == HttpRequestReader::State::need_more) return;
    if (result.state == HttpRequestReader::State::error) {
      stats.http_requests.fetch_add(1, std::memory_order_relaxed);
      log_event({{"event", "request_error"}, {"conn", std::to_string(c.id)}, {"peer", c.peer}, {"protocol", "http"},
                 {"status", std::to_string(result.status)}, {"msg", result.message}});
      c.http_done = true;  // the stream cannot be trusted past this point
      c.input_begin = c.input_end = 0;
      reply_http(c, result.status, json_error(result.message));
      return;
    }
    stats.http_requests.fetch_add(1, std::memory_order_relaxed);
    if (!c.http->request().keep_alive) c.http_done = c.reading_done = true;
    handle_http_request(c, c.http->request());
    c.frame_started = now_;  // any bytes left begin the next request, read just now
  }
}

void Server::EventLoop::resume_http(Connection& c) {
  parse_http_requests(c);
  settle(c);
}

void Server::EventLoop::reply_http(Connection& c, int status, std::string_view body, std::string_view content_type,
                                   size_t inference_header_bytes) {
  if (c.http_done) c.reading_done = true;
  stats.count_http_response(status);
  append_http_response(c.output, status, content_type, body, c.http_done, inference_header_bytes);
  queue_flush(c);
}

void Server::EventLoop::reply_http_error(Connection& c, int status, const std::string& message) {
  log_event({{"event", "request_error"}, {"conn", std::to_string(c.id)}, {"peer", c.peer}, {"protocol", "http"},
             {"status", std::to_string(status)}, {"msg", message}});
  reply_http(c, status, json_error(message));
}

void Server::EventLoop::handle_http_request(Connection& c, const HttpRequest& request) {
  const auto parts = split_path(request.path());
  const bool get = request.method == "GET";
  auto need = [&](bool method_ok, const char* method) {
    if (!method_ok) reply_http_error(c, 405, request.method + " " + std::string(request.path()) + ": use " + method);
    return method_ok;
  };
  const bool ready = !draining_;

  if (parts.empty()) {
    if (need(get, "GET")) reply_http(c, 200, kHttpPage, "text/html; charset=utf-8");
  } else if (parts.size() == 1 && parts[0] == "metrics") {
    if (need(get, "GET")) reply_http(c, 200, stats.to_prometheus(), "text/plain; version=0.0.4");
  } else if (parts.size() == 1 && parts[0] == "healthz") {
    if (need(get, "GET")) reply_http(c, ready ? 200 : 503, ready ? "ok\n" : "draining\n", "text/plain");
  } else if (parts.size() == 1 && parts[0] == "stats") {
    if (need(get, "GET")) reply_http(c, 200, stats.to_json());
  } else if (parts[0] != "v2") {
    reply_http_error(c, 404, "no such route: " + std::string(request.path()));
  } else if (parts.size() == 1) {
    if (need(get, "GET")) {
      nlohmann::json j = {{"name", "gradcore"},
                          {"version", "1"},
                          {"extensions", {"binary_tensor_data", "model_repository"}}};
      reply_http(c, 200, j.dump());
    }
  } else if (parts.size() == 3 && parts[1] == "health" && (parts[2] == "live" || parts[2] == "ready")) {
    // Ready once a model serves: the first is loaded and has run its
    // warm-up forward pass before the port opens; not while draining.
    if (need(get, "GET")) reply_http(c, parts[2] == "live" || ready ? 200 : 503, "", "text/plain");
  } else if (parts[1] == "models" && parts.size() >= 3) {
    handle_http_model_route(c, request, parts);
  } else if (parts[1] == "repository") {
    handle_http_admin(c, request, parts);
  } else {
    reply_http_error(c, 404, "no such route: " + std::string(request.path()));
  }
}

const ServingModel* Server::EventLoop::http_model(std::string_view name, std::optional<int64_t> version) const {
  const ServingModel& current = registry_->current();
  if (name != current.model->name()) return nullptr;
  if (!version || *version == current.version) return &current;
  if (canary_ && *version == canary_->version) return &*canary_;
  const ServingModel* previous = registry_->previous();
  return previous && previous->version == *version ? previous : nullptr;
}

// /v2/models/{name}[/versions/{v}][/ready | /infer]
void Server::EventLoop::handle_http_model_route(Connection& c, const HttpRequest& request,
                                                const std::vector<std::string_view>& parts) {
  std::optional<int64_t> version;
  size_t action_at = 3;
  if (parts.size() >= 5 && parts[3] == "versions") {
    version = parse_version(parts[4]);
    if (!version)
      return reply_http_error(c, 404, "model version \"" + std::string(parts[4]) + "\" is no version number");
    action_at = 5;
  }
  if (parts.size() > action_at + 1 || (parts.size() == 4 && parts[3] == "versions"))
    return reply_http_error(c, 404, "no such route: " + std::string(request.path()));
  std::string_view action = parts.size() == action_at + 1 ? parts[action_at] : "";
  if (!action.empty() && action != "ready" && action != "infer")
    return reply_http_error(c, 404, "no such route: " + std::string(request.path()));
  const ServingModel* model = http_model(parts[2], version);
  if (!model)
    return reply_http_error(
        c, 404,
        "unknown model \"" + std::string(parts[2]) + "\"" + (version ? " version " + std::to_string(*version) : "") +
            ": this server has \"" + registry_->current().model->name() + "\" versions " +
            std::to_string(registry_->current().version) +
            (registry_->previous() ? " and " + std::to_string(registry_->previous()->version) : ""));
  if (action == "infer") {
    if (request.method != "POST") return reply_http_error(c, 405, "infer takes POST");
    return handle_http_infer(c, request, *model, version.value_or(-1));
  }
  if (request.method != "GET") return reply_http_error(c, 405, std::string(request.path()) + " takes GET");
  if (action == "ready") return reply_http(c, draining_ ? 503 : 200, "", "text/plain");
  reply_http(c, 200, http_model_metadata(*model));
}

std::string Server::EventLoop::http_model_metadata(const ServingModel& m) const {
  const auto [channels, height, width] = m.shape;
  Normalisation n = m.model->normalisation();
  Float32Range range = float32_range(n);
  nlohmann::json versions = {std::to_string(registry_->current().version)};
  if (registry_->previous()) versions.push_back(std::to_string(registry_->previous()->version));
  nlohmann::json j;
  j["name"] = m.model->name();
  j["versions"] = versions;
  j["platform"] = "gradcore";
  j["inputs"] = {{{"name", "input"}, {"datatype", "UINT8"}, {"shape", {-1, channels, height, width}}}};
  j["outputs"] = {{{"name", "probabilities"}, {"datatype", "FP32"}, {"shape", {-1, m.classes}}},
                  {{"name", "class"}, {"datatype", "INT64"}, {"shape", {-1}}},
                  {{"name", "logits"}, {"datatype", "FP32"}, {"shape", {-1, m.classes}}}};
  j["parameters"] = {{"version", std::to_string(m.version)},
                     {"architecture", m.model->architecture()},
                     {"precision", m.model->precision()},
                     {"labels", m.model->labels()},
                     {"datatypes", {"UINT8", "FP32"}},
                     {"shapes", {{-1, channels, height, width}, {-1, height, width}, {-1, channels * height * width}}},
                     {"fp32_normalisation", {{"scale", n.scale}, {"mean", n.mean}, {"std", n.std}}},
                     {"fp32_range", {range.low, range.high}},
                     {"max_batch", options_.max_batch},
                     {"preprocess", options_.preprocessor ? nlohmann::json{"mnist_style"} : nlohmann::json::array()}};
  return j.dump();
}

void Server::EventLoop::handle_http_infer(Connection& c, const HttpRequest& request, const ServingModel& model,
                                          int64_t pinned) {
  stats.count_request(static_cast<uint16_t>(protocol::MessageType::predict));
  if (draining_) return reply_http_error(c, 503, "the server is draining");
  std::optional<size_t> json_bytes;
  if (const std::string* header = request.header("inference-header-content-length")) {
    size_t n = 0;
    auto [end, error] = std::from_chars(header->data(), header->data() + header->size(), n);
    if (error != std::errc{} || end != header->data() + header->size())
      return reply_http_error(c, 400, "Inference-Header-Content-Length \"" + *header + "\" is no byte count");
    json_bytes = n;
  }
  Float32Range range = float32_range(model.model->normalisation());
  InferInputSpec spec{model.shape, options_.max_batch, range.low, range.high,
                      options_.preprocessor ? &options_.preprocessor : nullptr};
  InferDecodeResult decoded = decode_infer_request(request.body, json_bytes, spec);
  if (!decoded.value) return reply_http_error(c, decoded.status, decoded.message);
  DecodedInfer& infer = *decoded.value;
  if (queued_images_ + infer.count > options_.max_queue) {
    stats.count_error(protocol::Status::overloaded);
    return reply_http_error(c, 503, "request queue is full");
  }
  infer.ask.pinned_version = pinned;
  bool to_canary = pinned < 0 && in_canary_share(++http_infers_);
  queue_.push_back({c.id, 0, infer.format, false, infer.count, std::move(infer.pixels), now_,
                    std::make_shared<const HttpInferAsk>(std::move(infer.ask)), to_canary});
  queued_images_ += infer.count;
  ++c.owed;
  stop_awaiting(c);
}

void Server::EventLoop::answer_http_predict(Connection& c, const QueuedPredict& request, const ServingModel& model,
                                            const float* logits, const std::string& failure) {
  if (!failure.empty()) return reply_http_error(c, 500, failure);
  if (int bad = first_non_finite_image(logits, request.count, model.classes); bad >= 0) {
    stats.non_finite_answers.fetch_add(1, std::memory_order_relaxed);
    return reply_http_error(c, 500, "model version " + std::to_string(model.version) +
                                        " gave a non-finite logit for image " + std::to_string(bad) + " of " +
                                        std::to_string(request.count));
  }
  EncodedInfer encoded =
      encode_infer_response(*request.http, model.model->name(), model.version, logits, request.count, model.classes);
  reply_http(c, 200, encoded.body, kJson, encoded.json_bytes);
}

}  // namespace gc::serve
