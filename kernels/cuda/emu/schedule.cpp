// The thread and block order between barriers: parsing and the process-wide
// setting (GRADCORE_EMU_SCHEDULE, or set_schedule from a test).
#include "kernels/cuda/emu/grid.h"

#include <charconv>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace gc::emu {
namespace {

std::mutex schedule_mutex;
std::optional<Schedule> chosen;  // guarded by schedule_mutex

}  // namespace

Schedule parse_schedule(std::string_view text) {
  if (text == "inorder") return {Schedule::Order::inorder, 0};
  if (text == "reverse") return {Schedule::Order::reverse, 0};
  constexpr std::string_view prefix = "shuffle:";
  if (text.starts_with(prefix)) {
    std::string_view digits = text.substr(prefix.size());
    std::uint64_t seed = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), seed);
    if (error == std::errc{} && end == digits.data() + digits.size() && !digits.empty()) {
      return {Schedule::Order::shuffle, seed};
    }
  }
  throw std::invalid_argument("GRADCORE_EMU_SCHEDULE: '" + std::string(text) +
                              "' is not inorder, reverse or shuffle:<seed>");
}

std::string to_string(const Schedule& schedule) {
  switch (schedule.order) {
    case Schedule::Order::inorder: return "inorder";
    case Schedule::Order::reverse: return "reverse";
    case Schedule::Order::shuffle: return "shuffle:" + std::to_string(schedule.seed);
  }
  return "?";
}

Schedule current_schedule() {
  std::lock_guard lock(schedule_mutex);
  if (!chosen) {
    const char* env = std::getenv("GRADCORE_EMU_SCHEDULE");
    chosen = env && *env ? parse_schedule(env) : Schedule{};
  }
  return *chosen;
}

void set_schedule(const Schedule& schedule) {
  std::lock_guard lock(schedule_mutex);
  chosen = schedule;
}

}  // namespace gc::emu
