// write_model_file replaces files atomically: no temporary file survives, and
// a write that fails midway leaves the previous file untouched.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <system_error>

#include "serialize/model_io.h"
#include "tests/serialize/sample_models.h"

namespace gc::serialize {
namespace {

namespace fs = std::filesystem;

fs::path fresh_directory(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("gc_serialize_atomic_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<std::string> directory_listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

ModelFile model_with(int64_t floats) {
  ModelFile file;
  std::vector<float> values(static_cast<size_t>(floats), 0.25f);
  file.add_tensor(TensorRecord::from_floats("w", {floats}, values.data()));
  return file;
}

TEST(AtomicWrite, LeavesOnlyTheFinalFile) {
  const fs::path dir = fresh_directory("success");
  write_model_file(dir / "model.gcm", model_with(10));
  write_model_file(dir / "model.gcm", model_with(20));  // replace
  EXPECT_EQ(directory_listing(dir), std::vector<std::string>{"model.gcm"});
  EXPECT_EQ(read_model_file(dir / "model.gcm").tensor("w").shape, std::vector<int64_t>{20});
}

// RLIMIT_FSIZE makes write() fail with EFBIG part way through the temporary
// file: a real mid-write failure, no test hook in the writer.
TEST(AtomicWrite, FailureMidwayKeepsThePreviousFile) {
  const fs::path dir = fresh_directory("failure");
  const fs::path path = dir / "model.gcm";
  write_model_file(path, model_with(10));
  const ModelFile before = read_model_file(path);

  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto* saved_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit limited = saved;
  limited.rlim_cur = 64 * 1024;  // the new file needs ~400 KB
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
  bool threw = false;
  std::string message;
  try {
    write_model_file(path, model_with(100'000));
  } catch (const std::system_error& e) {
    threw = true;
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, saved_handler);

  ASSERT_TRUE(threw) << "the size limit did not make the write fail";
  EXPECT_NE(message.find("cannot write"), std::string::npos) << message;
  EXPECT_EQ(directory_listing(dir), std::vector<std::string>{"model.gcm"});
  const ModelFile after = read_model_file(path);
  EXPECT_EQ(after.tensor("w").data, before.tensor("w").data);
}

TEST(AtomicWrite, MissingDirectoryIsAClearError) {
  const fs::path path = fresh_directory("missing") / "no" / "such" / "model.gcm";
  try {
    write_model_file(path, model_with(1));
    ADD_FAILURE() << "wrote into a missing directory";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("no/such/model.gcm"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gc::serialize
