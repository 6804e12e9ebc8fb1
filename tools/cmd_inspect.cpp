// `gradcore inspect FILE [--json] [--trusted-keys DIR]`: what a .gcm model
// file holds, whether every byte of it checks out, and who signed it (checked
// against DIR when given). An .onnx file shows the model it imports as
// (serialize/onnx_import.h), after every check a load applies. Exit status 0
// only for a fully valid file.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "serialize/model_io.h"
#include "serialize/model_store.h"
#include "serialize/onnx_load.h"
#include "serialize/signing.h"
#include "tools/command.h"
#include "tools/trusted_keys.h"

namespace gc::tools {
namespace {

using namespace gc::serialize;
using nlohmann::json;

std::string hex32(uint32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%08X", value);
  return buffer;
}

std::string shortest(double value) {
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// One line; long arrays show their first elements and their length.
std::string value_text(const MetaValue& value) {
  constexpr size_t kShown = 12;
  return std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, int64_t>) return std::to_string(v);
        else if constexpr (std::is_same_v<V, double>) return shortest(v);
        else if constexpr (std::is_same_v<V, std::string>) return "\"" + v + "\"";
        else {
          std::string text = "[";
          for (size_t i = 0; i < v.size() && i < kShown; ++i) {
            if (i) text += ", ";
            if constexpr (std::is_same_v<V, std::vector<std::string>>) text += "\"" + v[i] + "\"";
            else if constexpr (std::is_same_v<V, std::vector<double>>) text += shortest(v[i]);
            else text += std::to_string(v[i]);
          }
          if (v.size() > kShown) text += ", ... (" + std::to_string(v.size()) + " in all)";
          return text + "]";
        }
      },
      value);
}

std::string with_commas(uint64_t n) {
  std::string digits = std::to_string(n), text;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) text += ',';
    text += digits[i];
  }
  return text;
}

// Checksum results in file order: section by section, tensor by tensor.
const ChecksumCheck& check_of(const Verification& v, size_t index) { return v.tensor_checksums.at(index); }

std::vector<const Section*> sections_of(const ModelFile& file) {
  std::vector<const Section*> all{&file};
  for (const Section& s : file.sections) all.push_back(&s);
  return all;
}

std::string verdict(const Verification& v) {
  std::vector<std::string> bad;
  for (const ChecksumCheck& c : v.tensor_checksums)
    if (!c.ok()) bad.push_back(c.section + "/" + c.tensor);
  if (bad.empty() && v.file_checksum.ok())
    return "VALID: " + std::to_string(v.contents.sections.size() + 1) + " section(s), " +
           std::to_string(v.tensor_checksums.size()) + " tensor(s), all checksums match";
  std::string text = "INVALID:";
  if (!bad.empty()) {
    text += " " + std::to_string(bad.size()) + " tensor checksum mismatch(es) (";
    for (size_t i = 0; i < bad.size(); ++i) text += (i ? ", " : "") + bad[i];
    text += ")";
  }
  if (!v.file_checksum.ok()) text += std::string(bad.empty() ? "" : ";") + " whole-file checksum mismatch";
  return text;
}

// What inspect says about the signature. `checked` is the verifier's verdict
// when --trusted-keys was given: empty for a trusted signature, else why not.
struct SignatureReport {
  std::string signer;  // claimed key id; empty for an unsigned file
  bool checked = false;
  std::string problem;
  std::string text() const {
    if (!checked)
      return signer.empty() ? "unsigned" : "key " + signer + " (ed25519), not checked (give --trusted-keys DIR)";
    return problem.empty() ? "key " + signer + " (ed25519), VALID, trusted" : "REFUSED: " + problem;
  }
};

// An int8 model (docs/QUANTIZATION.md): each layer's precision, the scale and
// zero point of its input and the range of its per-channel weight scales.
void print_quantization(const ModelFile& file) {
  const Section* q = file.find_section("quantization");
  if (!q) return;
  try {
    const auto& names = q->get_strings("layer.names");
    const auto& precision = q->get_strings("layer.precision");
    const auto& scales = q->get_floats("activation.scales");
    const auto& zero_points = q->get_ints("activation.zero_points");
    if (precision.size() != names.size() || scales.size() != names.size() + 1 || zero_points.size() != scales.size())
      throw FormatError("layer and activation counts differ");
    std::printf("\nint8 model: u8 activations (real = s * (q - z)), s8 weights per output channel\n");
    for (size_t i = 0; i < names.size(); ++i) {
      std::string weights;
      const std::string key = names[i] + ".weight_scales";
      if (q->has(key)) {
        const auto& w = q->get_floats(key);
        const auto [lo, hi] = std::minmax_element(w.begin(), w.end());
        if (!w.empty()) weights = "  weight scales " + shortest(*lo) + " .. " + shortest(*hi) + " (" + std::to_string(w.size()) + ")";
      }
      std::printf("  %-10s %-4s  in s=%-12s z=%-3lld%s\n", names[i].c_str(), precision[i].c_str(),
                  shortest(scales[i]).c_str(), static_cast<long long>(zero_points[i]),
                  precision[i] == "fp32" ? "  no int8 kernel: dequantize before, quantize after" : weights.c_str());
    }
    std::printf("  %-10s       s=%-12s z=%lld\n", "output", shortest(scales.back()).c_str(),
                static_cast<long long>(zero_points.back()));
  } catch (const FormatError& e) {
    std::printf("\nint8 model: section 'quantization' is malformed: %s\n", e.what());
  }
}

// The file's layout (a .gcm file), then what every inspect shows.
void print_file_summary(const std::string& path, const FileSummary& s) {
  std::printf("%s: gradcore model file %u.%u, little-endian, %s bytes\n", path.c_str(), s.version.major,
              s.version.minor, with_commas(s.file_size).c_str());
  std::printf("  header %u bytes, tables %s bytes, data %s bytes at offset %s\n", s.header_size,
              with_commas(s.tables_size).c_str(), with_commas(s.data_size).c_str(),
              with_commas(s.data_offset).c_str());
}

void print_text(const Verification& v, const SignatureReport& signature) {
  if (auto it = v.contents.metadata.find("model.architecture"); it != v.contents.metadata.end())
    if (const auto* architecture = std::get_if<std::string>(&it->second))
      std::printf("architecture: %s\n", architecture->c_str());

  size_t check_index = 0;
  for (const Section* section : sections_of(v.contents)) {
    std::printf("\nsection '%s': %zu metadata, %zu tensor(s)\n", section->name.c_str(), section->metadata.size(),
                section->tensors.size());
    for (const auto& [key, value] : section->metadata)
      std::printf("  %-22s %-12s %s\n", key.c_str(), std::string(meta_type_name(value)).c_str(),
                  value_text(value).c_str());
    if (section->tensors.empty()) continue;
    std::printf("  %-28s %-5s %-18s %12s  %-10s %s\n", "tensor", "dtype", "shape", "bytes", "crc32c", "check");
    for (const TensorRecord& t : section->tensors) {
      const ChecksumCheck& c = check_of(v, check_index++);
      std::printf("  %-28s %-5s %-18s %12s  %-10s %s\n", t.name.c_str(), dtype_name(t.dtype).c_str(),
                  shape_text(t.shape).c_str(), with_commas(t.data.size()).c_str(), hex32(c.stored).c_str(),
                  c.ok() ? "OK" : ("BAD (computed " + hex32(c.computed) + ")").c_str());
    }
  }
  print_quantization(v.contents);
  std::printf("\nparameters: %s (f32 elements in section 'model')\n",
              with_commas(static_cast<uint64_t>(v.contents.parameter_count())).c_str());
  std::printf("file checksum: %s %s\n", hex32(v.file_checksum.stored).c_str(),
              v.file_checksum.ok() ? "OK" : ("BAD (computed " + hex32(v.file_checksum.computed) + ")").c_str());
  std::printf("signature: %s\n", signature.text().c_str());
  std::printf("verdict: %s\n", verdict(v).c_str());
}

json metadata_json(const Section& section) {
  json out = json::object();
  for (const auto& entry : section.metadata)
    std::visit([&](const auto& v) { out[entry.first] = v; }, entry.second);
  return out;
}

json to_json(const std::string& path, const Verification& v, const SignatureReport& signature) {
  json sections = json::array();
  size_t check_index = 0;
  for (const Section* section : sections_of(v.contents)) {
    json tensors = json::array();
    for (const TensorRecord& t : section->tensors) {
      const ChecksumCheck& c = check_of(v, check_index++);
      tensors.push_back({{"name", t.name},
                         {"dtype", dtype_name(t.dtype)},
                         {"shape", t.shape},
                         {"bytes", t.data.size()},
                         {"crc32c", hex32(c.stored)},
                         {"crc32c_computed", hex32(c.computed)},
                         {"checksum_ok", c.ok()}});
    }
    sections.push_back({{"name", section->name}, {"metadata", metadata_json(*section)}, {"tensors", tensors}});
  }
  return {{"file", path},
          {"valid", v.valid()},
          {"verdict", verdict(v)},
          {"version", std::to_string(v.summary.version.major) + "." + std::to_string(v.summary.version.minor)},
          {"file_size", v.summary.file_size},
          {"header_size", v.summary.header_size},
          {"parameter_count", v.contents.parameter_count()},
          {"file_checksum", {{"stored", hex32(v.file_checksum.stored)},
                             {"computed", hex32(v.file_checksum.computed)},
                             {"ok", v.file_checksum.ok()}}},
          {"signature", {{"signer", signature.signer.empty() ? json() : json(signature.signer)},
                         {"checked", signature.checked},
                         {"trusted", signature.checked && signature.problem.empty()},
                         {"problem", signature.problem}}},
          {"sections", sections}};
}

SignatureReport check_signature(const std::string& path, const ModelFile& contents, const std::string& trusted_keys) {
  SignatureReport report{claimed_signer(contents)};
  if (trusted_keys.empty()) return report;
  report.checked = true;
  const auto trusted = load_trusted_keys(trusted_keys);
  try {
    read_checked_model_file(path, &*trusted);
  } catch (const std::exception& e) {
    report.problem = e.what();
  }
  return report;
}

void run_inspect(const std::string& path, bool as_json, const std::string& trusted_keys) {
  Verification verification;
  try {
    verification = verify_model_file(path);
  } catch (const std::exception& e) {  // structural error or unreadable file: nothing to tabulate
    if (as_json) std::printf("%s\n", json({{"file", path}, {"valid", false}, {"error", e.what()}}).dump(2).c_str());
    throw Failure(std::string("INVALID: ") + e.what());
  }
  const SignatureReport signature = check_signature(path, verification.contents, trusted_keys);
  if (as_json) {
    std::printf("%s\n", to_json(path, verification, signature).dump(2).c_str());
  } else {
    print_file_summary(path, verification.summary);
    print_text(verification, signature);
  }
  if (!verification.valid()) throw Failure(path + ": " + verdict(verification));
  if (!signature.problem.empty()) throw Failure(signature.problem);
}

// The model section an ONNX file imports as, through the same checks as a
// load, shown like a .gcm file's (its checksums are those an import would
// write).
void run_inspect_onnx(const std::string& path, bool as_json) {
  Verification verification;
  try {
    ModelFile file = read_onnx_model_file(path);
    // The architecture as `gradcore import` records it: the canonical spec.
    file.metadata["model.architecture"] = model_from_file(file, path).model->spec();
    verification = verify_model_bytes(encode_model_file(file), path);
  } catch (const std::exception& e) {
    if (as_json) std::printf("%s\n", json({{"file", path}, {"valid", false}, {"error", e.what()}}).dump(2).c_str());
    throw Failure(std::string("INVALID: ") + e.what());
  }
  const SignatureReport unsigned_file{""};
  if (as_json) {
    json out = to_json(path, verification, unsigned_file);
    out["format"] = "onnx";
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%s: ONNX model, imported as the gradcore model below (gradcore import writes it)\n", path.c_str());
    print_text(verification, unsigned_file);
  }
}

void setup(CLI::App& app) {
  auto* command = app.add_subcommand("inspect", "Show a .gcm model file's header, metadata and tensors and verify every checksum, or what an .onnx file imports as");
  auto path = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto trusted_keys = std::make_shared<std::string>();
  command->add_option("file", *path, "model or checkpoint file (.gcm), or an ONNX file (.onnx)")->required();
  command->add_flag("--json", *as_json, "print one JSON object instead of text");
  command->add_option("--trusted-keys", *trusted_keys, "Also check the signature against the keys (*.pub) in this directory");
  command->callback([path, as_json, trusted_keys] {
    if (!is_onnx_path(*path)) return run_inspect(*path, *as_json, *trusted_keys);
    if (!trusted_keys->empty())
      throw Failure(*path + ": an ONNX file carries no gradcore signature to check against --trusted-keys");
    run_inspect_onnx(*path, *as_json);
  });
}

CommandRegistration registration{"inspect", setup};

}  // namespace
}  // namespace gc::tools
