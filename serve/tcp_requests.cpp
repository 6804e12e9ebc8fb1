// The TCP protocol's requests (docs/PROTOCOL.md), and the reloads that both
// it and the HTTP port's admin routes start.
#include "serve/event_loop.h"
#include "serve/log.h"
#include "serve/reload_token.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <optional>
#include <string>

namespace gc::serve {

namespace {

using protocol::MessageType;
using protocol::PixelFormat;
using protocol::Status;

const char* action_name(protocol::ReloadAction action) {
  return action == protocol::ReloadAction::roll_back ? "roll_back" : "load";
}

std::optional<std::string> float32_pixel_out_of_range(std::span<const uint8_t> pixels, Float32Range range) {
  protocol::ByteReader floats(pixels);
  for (size_t i = 0; i < pixels.size() / 4; ++i) {
    float v = floats.f32();
    if (!(v >= range.low && v <= range.high)) {
      char text[160];
      std::snprintf(text, sizeof text, "float32 pixel %zu is %g, outside the normalised range [%g, %g] (INFO input)",
                    i, static_cast<double>(v), range.low, range.high);
      return text;
    }
  }
  return std::nullopt;
}

}  // namespace

void Server::EventLoop::parse_frames(Connection& c) {
  for (;;) {
    auto bytes = c.unparsed();
    if (bytes.empty()) return;
    auto parsed = protocol::parse_header(bytes, max_payload_);
    if (parsed.state == protocol::HeaderParse::State::need_more) return;
    if (parsed.state == protocol::HeaderParse::State::framing_error) {
      // The stream cannot be trusted past this point: answer, read no more, close once written.
      reply_error(c, protocol::kFramingErrorType, parsed.header.request_id, parsed.error, parsed.message);
      c.reading_done = true;
      c.input_begin = c.input_end = 0;
      return;
    }
    size_t frame_size = protocol::kHeaderSize + parsed.header.payload_length;
    if (bytes.size() < frame_size) {
      c.reserve_input(frame_size - bytes.size());  // room for the rest of this frame
      return;
    }
    handle_request(c, parsed.header, bytes.subspan(protocol::kHeaderSize, parsed.header.payload_length));
    c.input_begin += frame_size;
    c.frame_started = now_;  // any bytes left begin the next frame, read just now
  }
}

void Server::EventLoop::handle_request(Connection& c, const protocol::FrameHeader& header,
                                       std::span<const uint8_t> payload) {
  stats.count_request(header.type);
  auto type = static_cast<MessageType>(header.type);
  bool takes_empty_payload = type == MessageType::info || type == MessageType::stats || type == MessageType::health;
  if (takes_empty_payload && !payload.empty())
    return reply_error(c, header.type | protocol::kResponseBit, header.request_id, Status::malformed,
                       std::string(protocol::message_type_name(header.type)) + " takes an empty payload, got " +
                           std::to_string(payload.size()) + " bytes");
  switch (type) {
    case MessageType::predict:
      return handle_predict(c, header.request_id, payload);
    case MessageType::reload:
      return handle_reload(c, header.request_id, payload);
    case MessageType::info:
      protocol::append_json_response(c.output, MessageType::info, header.request_id, info_json());
      break;
    case MessageType::stats:
      protocol::append_json_response(c.output, MessageType::stats, header.request_id, stats.to_json());
      break;
    case MessageType::health:
      protocol::append_health_response(
          c.output, header.request_id, draining_ ? protocol::HealthState::draining : protocol::HealthState::serving,
          registry_->current().version);
      break;
    default:
      return reply_error(c, header.type | protocol::kResponseBit, header.request_id, Status::unknown_type,
                         "unknown message type " + std::to_string(header.type));
  }
  queue_flush(c);
}

void Server::EventLoop::reply_error(Connection& c, uint16_t type, uint64_t request_id, Status status,
                                    const std::string& message) {
  protocol::append_error(c.output, type, request_id, status, message);
  stats.count_error(status);
  log_event({{"event", "request_error"},
             {"conn", std::to_string(c.id)},
             {"peer", c.peer},
             {"request_id", std::to_string(request_id)},
             {"status", protocol::status_name(status)},
             {"msg", message}});
  queue_flush(c);
}

void Server::EventLoop::handle_predict(Connection& c, uint64_t request_id, std::span<const uint8_t> payload) {
  const uint16_t type = response_type(MessageType::predict);
  auto decoded = protocol::decode_predict(payload);
  if (!decoded.value) return reply_error(c, type, request_id, decoded.error, decoded.message);
  const protocol::PredictRequest& request = *decoded.value;
  const ServingModel& model = registry_->current();
  if (request.count > options_.max_batch)
    return reply_error(c, type, request_id, Status::wrong_image_count,
                       std::to_string(request.count) + " images, at most " + std::to_string(options_.max_batch) +
                           " per request");
  if (request.shape != model.shape)
    return reply_error(c, type, request_id, Status::wrong_image_size,
                       "image shape " + std::to_string(request.shape[0]) + "x" + std::to_string(request.shape[1]) +
                           "x" + std::to_string(request.shape[2]) + ", the model takes " +
                           std::to_string(model.shape[0]) + "x" + std::to_string(model.shape[1]) + "x" +
                           std::to_string(model.shape[2]));
  if (request.format == PixelFormat::float32)
    if (auto problem = float32_pixel_out_of_range(request.pixels, float32_range(model.model->normalisation())))
      return reply_error(c, type, request_id, Status::malformed, *problem);
  if (queued_images_ + request.count > options_.max_queue)
    return reply_error(c, type, request_id, Status::overloaded, "request queue is full");
  queue_.push_back({c.id, request_id, request.format, request.want_logits, request.count,
                    std::vector<uint8_t>(request.pixels.begin(), request.pixels.end()), now_, nullptr,
                    in_canary_share(request_id)});
  queued_images_ += request.count;
  ++c.owed;
  stop_awaiting(c);
}

void Server::EventLoop::handle_reload(Connection& c, uint64_t request_id, std::span<const uint8_t> payload) {
  const uint16_t type = response_type(MessageType::reload);
  auto decoded = protocol::decode_reload(payload);
  if (!decoded.value) return reply_error(c, type, request_id, decoded.error, decoded.message);
  const protocol::ReloadRequest& request = *decoded.value;
  if (const char* refusal = reload_refusal(request.token, action_name(request.action), c.peer, request.path))
    return reply_error(c, type, request_id, Status::not_authorised, refusal);
  if (registry_->loading())
    return reply_error(c, type, request_id, Status::reload_failed, "a reload is already running");

  if (request.action == protocol::ReloadAction::roll_back) {
    if (!roll_back_model(c.peer))
      return reply_error(c, type, request_id, Status::reload_failed, "no previous model to roll back to");
    protocol::append_reload_response(c.output, request_id, registry_->current().version,
                                     registry_->previous()->version);
    return queue_flush(c);
  }
  registry_->start_load(request.path, [this] { wake(); });
  pending_reload_ = PendingReload{c.id, request_id, false, c.peer};
  ++c.owed;
  log_event({{"event", "reload_started"}, {"path", request.path}, {"conn", std::to_string(c.id)}, {"peer", c.peer}});
}

const char* Server::EventLoop::reload_refusal(const std::string& token, const char* action, const std::string& peer,
                                             const std::string& path) {
  const char* problem = options_.reload_token.empty()                ? "reload is disabled: the server has no token"
                        : !tokens_equal(token, options_.reload_token) ? "wrong reload token"
                                                                      : nullptr;
  if (problem) {
    stats.reloads_bad_token.fetch_add(1, std::memory_order_relaxed);
    log_event({{"event", "reload"}, {"action", action}, {"status", "refused_token"}, {"peer", peer}, {"path", path},
               {"error", problem}});
  }
  return problem;
}

bool Server::EventLoop::roll_back_model(const std::string& peer) {
  int64_t before = registry_->current().version;
  if (!registry_->roll_back()) return false;
  const ServingModel& now_serving = registry_->current();
  stats.model_version = now_serving.version;
  stats.reloads_ok.fetch_add(1, std::memory_order_relaxed);
  stats.roll_backs.fetch_add(1, std::memory_order_relaxed);
  retire_promoted_candidates(now_serving);
  log_event({{"event", "reload"}, {"action", "roll_back"}, {"status", "ok"}, {"peer", peer},
             {"path", now_serving.path}, {"checksum", now_serving.model->file_checksum()},
             {"signer", now_serving.model->signer()}, {"version", std::to_string(now_serving.version)},
             {"replaced_version", std::to_string(before)}});
  return true;
}

void Server::EventLoop::start_reload_from_signal() {
  if (draining_ || registry_->loading()) {
    log_event({{"event", "reload_skipped"}, {"reason", draining_ ? "draining" : "a reload is already running"}});
    return;
  }
  std::string path = registry_->current().path;
  registry_->start_load(path, [this] { wake(); });
  pending_reload_ = PendingReload{0, 0, true, "SIGHUP"};
  log_event({{"event", "reload_started"}, {"path", path}, {"trigger", "SIGHUP"}});
}

void Server::EventLoop::finish_reload() {
  auto outcome = registry_->finish_load();
  if (!outcome || !pending_reload_) return;
  PendingReload asker = *pending_reload_;
  pending_reload_.reset();
  Connection* c = asker.from_signal ? nullptr : find(asker.connection_id);
  if (c) --c->owed;
  const uint16_t type = response_type(MessageType::reload);
  if (outcome->ok) {
    const ServingModel& now_serving = registry_->current();
    int64_t previous = registry_->previous() ? registry_->previous()->version : -1;
    stats.model_version = now_serving.version;
    stats.reloads_ok.fetch_add(1, std::memory_order_relaxed);
    retire_promoted_candidates(now_serving);
    log_event({{"event", "reload"}, {"action", "load"}, {"status", "ok"}, {"peer", asker.peer},
               {"path", outcome->path}, {"checksum", now_serving.model->file_checksum()},
               {"signer", now_serving.model->signer()}, {"version", std::to_string(now_serving.version)},
               {"replaced_version", std::to_string(previous)}});
    if (c && asker.http) {
      reply_http(*c, 200, "{\"version\":\"" + std::to_string(now_serving.version) + "\",\"previous_version\":\"" +
                              std::to_string(previous) + "\"}");
      resume_http(*c);
    } else if (c) {
      protocol::append_reload_response(c->output, asker.request_id, now_serving.version, previous);
      queue_flush(*c);
    }
  } else {
    (outcome->refused ? stats.reloads_untrusted : stats.reloads_failed).fetch_add(1, std::memory_order_relaxed);
    log_event({{"event", "reload"}, {"action", "load"}, {"status", outcome->refused ? "refused_model" : "failed"},
               {"peer", asker.peer}, {"path", outcome->path}, {"error", outcome->error},
               {"still_serving", std::to_string(registry_->current().version)}});
    if (c && asker.http) {
      reply_http_error(*c, outcome->refused ? 403 : 400, "reload failed: " + outcome->error);
      resume_http(*c);
    } else if (c) {
      reply_error(*c, type, asker.request_id, Status::reload_failed, outcome->error);
    }
  }
}

std::string Server::EventLoop::info_json() const {
  const ServingModel& m = registry_->current();
  nlohmann::json j;
  j["name"] = m.model->name();
  j["version"] = m.version;
  j["architecture"] = m.model->architecture();
  j["precision"] = m.model->precision();
  j["labels"] = m.model->labels();
  Normalisation n = m.model->normalisation();
  Float32Range range = float32_range(n);
  j["input"] = {{"channels", m.shape[0]},
                {"height", m.shape[1]},
                {"width", m.shape[2]},
                {"formats", {"uint8", "float32"}},
                {"normalisation", {{"scale", n.scale}, {"mean", n.mean}, {"std", n.std}}},
                {"float32_range", {range.low, range.high}}};
  j["max_images_per_request"] = options_.max_batch;
  j["max_payload_bytes"] = max_payload_;
  j["previous_version"] = registry_->previous() ? registry_->previous()->version : -1;
  return j.dump();
}

}  // namespace gc::serve
