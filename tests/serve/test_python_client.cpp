// The Python client (tools/gradcore_client.py) and its example against a real
// server: its answers match the model's in-process ones, errors are raised,
// and over TLS it verifies the server's certificate.
#include "server_fixture.h"
#include "tls_fixture.h"

#include <cstdlib>
#include <fstream>

using namespace gc::serve::test;

namespace {

// Runs python3 with the script; returns its exit status, or -1 when python3 is missing.
int run_python(const std::string& script_path, const std::string& arguments) {
  if (std::system("python3 -c pass > /dev/null 2>&1") != 0) return -1;
  int status = std::system(("python3 " + script_path + " " + arguments).c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace

TEST(ServePythonClient, ExampleRuns) {
  ModelFiles files;
  RunningServer server(test_options(), files.v1);
  int status = run_python(std::string(GRADCORE_SOURCE_DIR) + "/serve/examples/predict_example.py",
                          std::to_string(server.port()));
  if (status == -1) GTEST_SKIP() << "python3 not found";
  EXPECT_EQ(status, 0);
}

TEST(ServePythonClient, AnswersMatchInProcessAndErrorsRaise) {
  ModelFiles files;
  RunningServer server(test_options(), files.v1);
  auto images = random_images(3, 21);
  Reference ref = reference_answers(files.v1, images);
  std::string images_path = files.dir.file("images.bin");
  std::ofstream(images_path, std::ios::binary).write(reinterpret_cast<const char*>(images.data()), images.size());
  std::string script = files.dir.file("check.py");
  std::ofstream(script) << "import sys\n"
                        << "sys.path.insert(0, '" << GRADCORE_SOURCE_DIR << "/tools')\n"
                        << "from gradcore_client import Client, ServerError\n"
                        << "data = open(sys.argv[2], 'rb').read()\n"
                        << "with Client('127.0.0.1', int(sys.argv[1])) as c:\n"
                        << "    version, answers = c.predict([data[i*784:(i+1)*784] for i in range(3)], logits=True)\n"
                        << "    assert version == 1\n"
                        << "    assert [a['class'] for a in answers] == [" << ref.classes[0] << ", "
                        << ref.classes[1] << ", " << ref.classes[2] << "], answers\n"
                        << "    assert abs(sum(answers[0]['probabilities']) - 1) < 1e-5\n"
                        << "    assert c.info()['name'] == 'linear-test'\n"
                        << "    assert c.health()['model_version'] == 1\n"
                        << "    assert c.stats()['requests']['predict'] == 1\n"
                        << "    try:\n"
                        << "        c.reload('wrong', '/nowhere')\n"
                        << "        sys.exit(2)\n"
                        << "    except ServerError as e:\n"
                        << "        assert e.status_name == 'NOT_AUTHORISED'\n"
                        << "    assert c.reload('" << kToken << "', '" << files.v2 << "')['model_version'] == 2\n";
  int status = run_python(script, std::to_string(server.port()) + " " + images_path);
  if (status == -1) GTEST_SKIP() << "python3 not found";
  EXPECT_EQ(status, 0);
}

TEST(ServePythonClient, TlsTrustsOnlyTheGivenCa) {
  TlsFiles tls;
  ModelFiles files;
  RunningServer server(tls_options(tls), files.v1);
  auto images = random_images(1, 22);
  int expected = reference_answers(files.v1, images).classes[0];
  std::string images_path = files.dir.file("image.bin");
  std::ofstream(images_path, std::ios::binary).write(reinterpret_cast<const char*>(images.data()), images.size());
  std::string script = files.dir.file("check_tls.py");
  std::ofstream(script) << "import ssl, sys\n"
                        << "sys.path.insert(0, '" << GRADCORE_SOURCE_DIR << "/tools')\n"
                        << "from gradcore_client import Client\n"
                        << "port, image = int(sys.argv[1]), open(sys.argv[2], 'rb').read()\n"
                        << "for host in ('127.0.0.1', 'localhost'):\n"
                        << "    with Client(host, port, tls=True, ca_file='" << tls.ca << "') as c:\n"
                        << "        assert c.predict([image])[1][0]['class'] == " << expected << "\n"
                        << "        assert c.health()['state'] == 'serving'\n"
                        << "try:\n"
                        << "    Client('127.0.0.1', port, tls=True, ca_file='" << tls.other_ca << "')\n"
                        << "    sys.exit(2)\n"
                        << "except ssl.SSLCertVerificationError:\n"
                        << "    pass\n";
  int status = run_python(script, std::to_string(server.port()) + " " + images_path);
  ASSERT_NE(status, -1) << "python3 not found";
  EXPECT_EQ(status, 0);
}
