// RELOAD: under load with zero failed requests and a switch of version; a
// corrupt file is refused and the old model keeps answering; no token, no
// reload; roll back.
#include "server_fixture.h"

#include <atomic>
#include <fstream>

using namespace gc::serve;
using namespace gc::serve::test;
using protocol::Status;

TEST(ServeReload, ReloadUnderLoadSwitchesVersionWithoutFailures) {
  ModelFiles files;
  RunningServer server(test_options(), files.v1);
  auto images = random_images(4, 6);
  Reference v1 = reference_answers(files.v1, images), v2 = reference_answers(files.v2, images);

  std::atomic<bool> done{false};
  std::atomic<uint64_t> failures{0}, answers_v1{0}, answers_v2{0}, went_back{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < 6; ++c)
    threads.emplace_back([&] {
      Client client = server.client();
      int64_t last_version = 0;
      while (!done.load()) {
        auto r = client.predict(images, 4);
        if (r.status != Status::ok) {
          ++failures;
          continue;
        }
        const Reference& ref = r.model_version == 1 ? v1 : v2;
        for (int i = 0; i < 4; ++i)
          if (r.predictions[i].predicted_class != ref.classes[i]) ++failures;
        if (r.model_version < last_version) ++went_back;
        last_version = r.model_version;
        ++(r.model_version == 1 ? answers_v1 : answers_v2);
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Client admin = server.client();
  auto reloaded = admin.reload(kToken, files.v2);
  ASSERT_EQ(reloaded.status, Status::ok) << reloaded.message;
  EXPECT_EQ(reloaded.model_version, 2);
  EXPECT_EQ(reloaded.previous_version, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  done = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(went_back.load(), 0u);
  EXPECT_GT(answers_v1.load(), 0u);
  EXPECT_GT(answers_v2.load(), 0u);
  EXPECT_EQ(admin.predict(std::span(images).first(kPixels), 1).model_version, 2);
}

TEST(ServeReload, CorruptFileIsRefusedAndTheOldModelKeepsAnswering) {
  ModelFiles files;
  RunningServer server(test_options(), files.v1);
  std::string corrupt = files.dir.file("corrupt.lin");
  std::filesystem::copy_file(files.v2, corrupt);
  {
    std::fstream f(corrupt, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1000);
    f.put('\x7f');
  }
  std::string truncated = files.dir.file("truncated.lin");
  std::filesystem::copy_file(files.v2, truncated);
  std::filesystem::resize_file(truncated, 100);

  Client client = server.client();
  for (const std::string& path : {corrupt, truncated, files.dir.file("missing.lin")}) {
    auto r = client.reload(kToken, path);
    EXPECT_EQ(r.status, Status::reload_failed) << path;
    EXPECT_NE(r.message.find(path), std::string::npos) << r.message;
    EXPECT_EQ(r.message.find("cannot load"), std::string::npos) << r.message;  // the loader's reason, once
    auto images = random_images(2, 3);
    auto answer = client.predict(images, 2);
    ASSERT_EQ(answer.status, Status::ok);
    EXPECT_EQ(answer.model_version, 1);
    EXPECT_EQ(answer.predictions[1].predicted_class, reference_answers(files.v1, images).classes[1]);
  }
  EXPECT_EQ(server.server().stats().reloads_failed.load(), 3u);
}

TEST(ServeReload, ReloadWithoutTheTokenIsRefused) {
  ModelFiles files;
  RunningServer server(test_options(), files.v1);
  Client client = server.client();
  EXPECT_EQ(client.reload("", files.v2).status, Status::not_authorised);
  EXPECT_EQ(client.reload("test-token-12", files.v2).status, Status::not_authorised);
  EXPECT_EQ(client.reload("wrong", "").status, Status::not_authorised);
  EXPECT_EQ(client.health().model_version, 1);

  auto options = test_options();
  options.reload_token.clear();  // no token configured: reloads are disabled
  RunningServer locked(options, files.v1);
  Client other = locked.client();
  EXPECT_EQ(other.reload("", files.v2).status, Status::not_authorised);
  EXPECT_EQ(other.reload(kToken, files.v2).status, Status::not_authorised);
}

TEST(ServeReload, RollBackReturnsToThePreviousModel) {
  ModelFiles files;
  RunningServer server(test_options(), files.v1);
  Client client = server.client();
  EXPECT_EQ(client.reload(kToken, "").status, Status::reload_failed);  // nothing to roll back to
  ASSERT_EQ(client.reload(kToken, files.v2).status, Status::ok);
  EXPECT_EQ(client.health().model_version, 2);
  auto back = client.reload(kToken, "");
  ASSERT_EQ(back.status, Status::ok) << back.message;
  EXPECT_EQ(back.model_version, 1);
  EXPECT_EQ(back.previous_version, 2);
  EXPECT_EQ(client.predict(random_images(1, 1), 1).model_version, 1);
}
