// A throwaway certificate authority and a server certificate it signed (for
// 127.0.0.1 and localhost, not for ::1), plus a second CA that signed nothing, all
// made with the `openssl` command in a temporary directory.
#pragma once

#include "server_fixture.h"

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

namespace gc::serve::test {

struct TlsFiles {
  TempDir dir;
  std::string ca = dir.file("ca.pem"), cert = dir.file("server.pem"), key = dir.file("server.key");
  std::string other_ca = dir.file("other-ca.pem");

  TlsFiles() {
    make_ca("ca", "gradcore test CA");
    make_ca("other-ca", "another test CA");
    std::ofstream(dir.file("server.ext")) << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + key + " -out " +
        dir.file("server.csr") + " -subj /CN=localhost");
    run("openssl x509 -req -in " + dir.file("server.csr") + " -CA " + ca + " -CAkey " + dir.file("ca.key") +
        " -set_serial 2 -days 2 -extfile " + dir.file("server.ext") + " -out " + cert);
  }

 private:
  void make_ca(const std::string& name, const std::string& subject) {
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -keyout " +
        dir.file(name + ".key") + " -out " + dir.file(name + ".pem") + " -subj '/CN=" + subject + "'");
  }
  static void run(const std::string& command) {
    if (std::system((command + " > /dev/null 2>&1").c_str()) != 0)
      throw std::runtime_error("failed (is the openssl command installed?): " + command);
  }
};

// test_options() serving TLS with the files' certificate and key.
inline ServerOptions tls_options(const TlsFiles& tls) {
  ServerOptions o = test_options();
  o.tls_cert_file = tls.cert;
  o.tls_key_file = tls.key;
  return o;
}

}  // namespace gc::serve::test
