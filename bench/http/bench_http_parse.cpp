// The choices behind the HTTP port (docs/HTTP.md), measured: the HTTP/1.1
// request parser (Debian's http-parser under serve/http_request.h, against
// Boost.Beast's parser) and the JSON parser for infer bodies (simdjson under
// serve/http_infer.h, against nlohmann::json), on one core.
//   build/bench/http/bench_http_parse
#include "serve/http_infer.h"
#include "serve/http_request.h"

#include <benchmark/benchmark.h>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <random>
#include <string>

namespace {

// A request as curl or wrk sends it: a POST with a few headers and a small body.
std::string sample_request() {
  return "POST /v2/models/mnist/infer HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\n"
         "Accept: */*\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
}

// An infer body of one MNIST-sized image, pixel values 0..255 as JSON numbers.
std::string sample_infer_body() {
  std::mt19937 rng(1);
  std::string body = R"({"id":"1","inputs":[{"name":"input","datatype":"UINT8","shape":[1,784],"data":[)";
  for (int i = 0; i < 784; ++i) body += (i ? "," : "") + std::to_string(rng() % 256);
  return body + "]}]}";
}

void BM_http_parser_requests(benchmark::State& state) {
  std::string one = sample_request(), stream;
  for (int i = 0; i < 100; ++i) stream += one;
  for (auto _ : state) {
    gc::serve::HttpRequestReader reader({});
    std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(stream.data()), stream.size());
    while (!bytes.empty()) {
      auto r = reader.feed(bytes);
      if (r.state != gc::serve::HttpRequestReader::State::complete) state.SkipWithError("parse failed");
      benchmark::DoNotOptimize(reader.request().body.size());
      bytes = bytes.subspan(r.consumed);
    }
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_http_parser_requests);

void BM_beast_parser_requests(benchmark::State& state) {
  namespace http = boost::beast::http;
  std::string one = sample_request(), stream;
  for (int i = 0; i < 100; ++i) stream += one;
  for (auto _ : state) {
    std::string_view rest = stream;
    while (!rest.empty()) {
      http::request_parser<http::string_body> parser;
      parser.eager(true);
      boost::beast::error_code error;
      size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), error);
      if (error || !parser.is_done()) state.SkipWithError("parse failed");
      benchmark::DoNotOptimize(parser.get().body().size());
      rest.remove_prefix(used);
    }
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_beast_parser_requests);

void BM_simdjson_infer_body(benchmark::State& state) {
  std::string body = sample_infer_body();
  gc::serve::InferInputSpec spec{{1, 28, 28}, 64, -1, 3, nullptr};
  for (auto _ : state) {
    auto decoded = gc::serve::decode_infer_request(body, std::nullopt, spec);
    if (!decoded.value) state.SkipWithError(decoded.message.c_str());
    benchmark::DoNotOptimize(decoded.value->pixels.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_simdjson_infer_body);

// The same work with nlohmann::json: parse, then take the pixels out.
void BM_nlohmann_infer_body(benchmark::State& state) {
  std::string body = sample_infer_body();
  for (auto _ : state) {
    auto j = nlohmann::json::parse(body);
    std::vector<uint8_t> pixels;
    pixels.reserve(784);
    for (const auto& v : j["inputs"][0]["data"]) pixels.push_back(static_cast<uint8_t>(v.get<int>()));
    benchmark::DoNotOptimize(pixels.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_nlohmann_infer_body);

}  // namespace

BENCHMARK_MAIN();
