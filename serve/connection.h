// One client connection as the server's I/O thread sees it: the socket and
// its TLS session (if any), the bytes received but not yet parsed, the
// answers not yet written, and what the server still owes it.
#pragma once

#include "serve/http_request.h"
#include "serve/tls.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace gc::serve {

using Clock = std::chrono::steady_clock;

struct Connection {
  int fd = -1;
  uint64_t id = 0;
  std::string peer;  // "address:port", for log lines
  std::unique_ptr<tls::Session> tls;  // with --tls-cert: all bytes go through it
  // On the HTTP port: the request being read (null on the TCP port). Its
  // requests are taken one at a time, the next once the last is answered,
  // so that pipelined requests are answered in order.
  std::unique_ptr<HttpRequestReader> http;
  bool http_done = false;  // a response that ends the connection is queued: take no more requests

  // Received bytes; [input_begin, input_end) is not parsed yet.
  std::vector<uint8_t> input;
  size_t input_begin = 0;
  size_t input_end = 0;

  // Answers; [output_sent, output.size()) is not written yet.
  std::vector<uint8_t> output;
  size_t output_sent = 0;

  Clock::time_point last_progress;  // last byte read or written
  Clock::time_point frame_started;  // first byte of the unparsed frame, when there is one
  int owed = 0;                     // queued PREDICTs (HTTP infers) and a running RELOAD (load)
  bool reading_done = false;        // framing error, peer closed or draining: read no more
  bool read_wants_write = false;    // TLS: the last read stopped until the socket is writable
  bool queued_for_flush = false;    // already in the I/O thread's list of connections to write
  uint64_t answered_by_batch = 0;   // the last batch that answered one of its PREDICTs
  bool sent_since_answer = true;    // a PREDICT arrived after that batch ran
  uint32_t epoll_events = 0;        // what epoll watches now

  std::span<const uint8_t> unparsed() const { return {input.data() + input_begin, input_end - input_begin}; }
  size_t unwritten() const { return output.size() - output_sent; }
  bool finished() const { return reading_done && owed == 0 && unwritten() == 0; }

  // Makes room for at least `bytes` more input, moving unparsed bytes to the front.
  void reserve_input(size_t bytes) {
    if (input_begin > 0) {
      std::copy(input.begin() + input_begin, input.begin() + input_end, input.begin());
      input_end -= input_begin;
      input_begin = 0;
    }
    if (input.size() < input_end + bytes) input.resize(input_end + bytes);
  }
};

}  // namespace gc::serve
