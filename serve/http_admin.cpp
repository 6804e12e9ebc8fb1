// The HTTP port's admin routes, the model repository extension of the Open
// Inference Protocol: POST /v2/repository/index lists the model (no token
// needed), POST /v2/repository/models/{name}/load loads a model
// file (the body names it) in place of the current one, .../unload retires
// the current one for the previous (a roll back). Both need the RELOAD
// token as "Authorization: Bearer <token>", compared in constant time.
#include "serve/event_loop.h"
#include "serve/log.h"

#include <nlohmann/json.hpp>

namespace gc::serve {

void Server::EventLoop::handle_http_admin(Connection& c, const HttpRequest& request,
                                          const std::vector<std::string_view>& parts) {
  if (parts.size() == 3 && parts[2] == "index") {
    if (request.method != "POST") return reply_http_error(c, 405, "/v2/repository/index takes POST");
    const ServingModel& m = registry_->current();
    nlohmann::json index = {{{"name", m.model->name()}, {"version", std::to_string(m.version)}, {"state", "READY"}}};
    return reply_http(c, 200, index.dump());
  }
  // parts: v2 repository models {name} load|unload
  if (parts.size() != 5 || parts[2] != "models" || (parts[4] != "load" && parts[4] != "unload"))
    return reply_http_error(c, 404, "no such route: " + std::string(request.path()));
  if (request.method != "POST") return reply_http_error(c, 405, std::string(request.path()) + " takes POST");
  const bool load = parts[4] == "load";
  const char* action = load ? "load" : "roll_back";

  std::string path = registry_->current().path;  // load without a file: reload the current one
  if (load && !request.body.empty()) {
    auto body = nlohmann::json::parse(request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
      return reply_http_error(c, 400, "the load body must be a JSON object: {\"parameters\": {\"file\": \"...\"}}");
    auto file = body.value("/parameters/file"_json_pointer, nlohmann::json());
    if (!file.is_null() && !file.is_string()) return reply_http_error(c, 400, "parameters.file must be a string");
    if (file.is_string()) path = file.get<std::string>();
  }

  const std::string* authorization = request.header("authorization");
  std::string_view token;
  if (authorization && authorization->starts_with("Bearer ")) token = std::string_view(*authorization).substr(7);
  if (const char* refusal = reload_refusal(std::string(token), action, c.peer, path))
    return reply_http_error(c, options_.reload_token.empty() ? 403 : 401, refusal);
  if (parts[3] != registry_->current().model->name())
    return reply_http_error(c, 404, "unknown model \"" + std::string(parts[3]) + "\": this server has \"" +
                                        registry_->current().model->name() + "\"");
  if (registry_->loading()) return reply_http_error(c, 409, "a reload is already running");

  if (!load) {
    if (!roll_back_model(c.peer)) return reply_http_error(c, 409, "no previous model to roll back to");
    return reply_http(c, 200,
                      "{\"version\":\"" + std::to_string(registry_->current().version) + "\",\"previous_version\":\"" +
                          std::to_string(registry_->previous()->version) + "\"}");
  }
  registry_->start_load(path, [this] { wake(); });
  pending_reload_ = PendingReload{c.id, 0, false, c.peer, true};
  ++c.owed;
  log_event({{"event", "reload_started"}, {"path", path}, {"conn", std::to_string(c.id)}, {"peer", c.peer},
             {"protocol", "http"}});
}

}  // namespace gc::serve
