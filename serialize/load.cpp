// The readers (copying, mmap, verifying) and write_model_file, on top of
// decode_structure and encode_model_file.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <system_error>

#include "serialize/atomic_file.h"
#include "serialize/crc32c.h"
#include "serialize/decode.h"
#include "serialize/model_io.h"

namespace gc::serialize {
namespace {

std::string hex32(uint32_t value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%08X", value);
  return buffer;
}

std::span<const std::byte> tensor_bytes(std::span<const std::byte> file, const TensorEntry& entry) {
  return file.subspan(entry.offset, entry.length);
}

// Tensors first, so the message names the damaged tensor; then the whole file.
void check_checksums(const DecodedFile& decoded, std::span<const std::byte> bytes, std::string_view source) {
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  // Let mutated inputs reach the code behind the checksums (serialize/fuzz_model.cpp).
  for (const SectionEntry& section : decoded.sections)
    for (const TensorEntry& entry : section.tensors) (void)crc32c(tensor_bytes(bytes, entry));
  (void)compute_file_crc(bytes);
  (void)source;
#else
  for (const SectionEntry& section : decoded.sections)
    for (const TensorEntry& entry : section.tensors) {
      const uint32_t computed = crc32c(tensor_bytes(bytes, entry));
      if (computed != entry.stored_crc)
        throw_format_error(source, "section '" + section.name + "': tensor '" + entry.name +
                                       "': CRC-32C mismatch (stored " + hex32(entry.stored_crc) + ", computed " +
                                       hex32(computed) + ")");
    }
  const uint32_t computed = compute_file_crc(bytes);
  if (computed != decoded.stored_file_crc)
    throw_format_error(source, "trailer: file CRC-32C mismatch (stored " + hex32(decoded.stored_file_crc) +
                                   ", computed " + hex32(computed) + ")");
#endif
}

Section copy_section(const SectionEntry& entry, std::span<const std::byte> bytes) {
  Section section;
  section.name = entry.name;
  section.metadata = entry.metadata;
  section.tensors.reserve(entry.tensors.size());
  for (const TensorEntry& tensor : entry.tensors) {
    std::span<const std::byte> data = tensor_bytes(bytes, tensor);
    section.tensors.push_back({tensor.name, tensor.dtype, tensor.shape, {data.begin(), data.end()}});
  }
  return section;
}

ModelFile copy_contents(const DecodedFile& decoded, std::span<const std::byte> bytes) {
  ModelFile file;
  static_cast<Section&>(file) = copy_section(decoded.sections[0], bytes);
  for (size_t i = 1; i < decoded.sections.size(); ++i) file.sections.push_back(copy_section(decoded.sections[i], bytes));
  return file;
}

MappedSection view_section(const SectionEntry& entry, std::span<const std::byte> bytes) {
  MappedSection section;
  section.name = entry.name;
  section.metadata = entry.metadata;
  section.tensors.reserve(entry.tensors.size());
  for (const TensorEntry& tensor : entry.tensors)
    section.tensors.push_back({tensor.name, tensor.dtype, tensor.shape, tensor_bytes(bytes, tensor)});
  return section;
}

// An open file descriptor that closes itself.
class FileDescriptor {
 public:
  explicit FileDescriptor(const std::filesystem::path& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "cannot open '" + path.string() + "'");
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { ::close(fd_); }
  int get() const { return fd_; }

  size_t size(const std::filesystem::path& path) const {
    struct stat info {};
    if (::fstat(fd_, &info) != 0)
      throw std::system_error(errno, std::generic_category(), "cannot stat '" + path.string() + "'");
    if (!S_ISREG(info.st_mode)) throw FormatError(path.string() + ": not a regular file");
    return static_cast<size_t>(info.st_size);
  }

 private:
  int fd_;
};

template <typename Tensor>
const Tensor* find_by_name(const std::vector<Tensor>& tensors, std::string_view name) {
  for (const Tensor& tensor : tensors)
    if (tensor.name == name) return &tensor;
  return nullptr;
}

}  // namespace

// ---- writing ----------------------------------------------------------------

void write_model_file(const std::filesystem::path& path, const ModelFile& file) {
  write_file_atomically(path, encode_model_file(file));
}

// ---- copying reader ---------------------------------------------------------

std::vector<std::byte> read_file_bytes(const std::filesystem::path& path) {
  FileDescriptor fd(path);
  std::vector<std::byte> bytes(fd.size(path));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw std::system_error(errno, std::generic_category(), "cannot read '" + path.string() + "'");
    if (got == 0) throw FormatError(path.string() + ": file shrank while being read");
    done += static_cast<size_t>(got);
  }
  return bytes;
}

ModelFile parse_model_bytes(std::span<const std::byte> bytes, std::string_view source_name) {
  const DecodedFile decoded = decode_structure(bytes, source_name);
  check_checksums(decoded, bytes, source_name);
  return copy_contents(decoded, bytes);
}

ModelFile read_model_file(const std::filesystem::path& path) {
  return parse_model_bytes(read_file_bytes(path), path.string());
}

// ---- mmap reader ------------------------------------------------------------

int64_t TensorView::element_count() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;  // bounded by the file size when decoded
  return count;
}

std::span<const float> TensorView::floats() const {
  if (dtype != DType::F32)
    throw FormatError("tensor '" + name + "': dtype is " + dtype_name(dtype) + ", expected f32");
  return {reinterpret_cast<const float*>(data.data()), data.size() / sizeof(float)};
}

const TensorView* MappedSection::find_tensor(std::string_view tensor_name) const {
  return find_by_name(tensors, tensor_name);
}

const TensorView& MappedSection::tensor(std::string_view tensor_name) const {
  if (const TensorView* view = find_tensor(tensor_name)) return *view;
  throw FormatError("section '" + name + "': no tensor named '" + std::string(tensor_name) + "'");
}

const MappedSection* MappedModelFile::find_section(std::string_view section_name) const {
  for (const MappedSection& s : sections)
    if (s.name == section_name) return &s;
  return nullptr;
}

const MappedSection& MappedModelFile::section(std::string_view section_name) const {
  if (const MappedSection* s = find_section(section_name)) return *s;
  throw FormatError("no section named '" + std::string(section_name) + "'");
}

int64_t MappedModelFile::parameter_count() const {
  int64_t count = 0;
  for (const TensorView& view : tensors)
    if (view.dtype == DType::F32) count += view.element_count();
  return count;
}

MappedModelFile map_model_file(const std::filesystem::path& path) {
  const std::string source = path.string();
  FileDescriptor fd(path);
  const size_t size = fd.size(path);
  if (size == 0) throw_format_error(source, "file is empty");
  void* address = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (address == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "cannot mmap '" + source + "'");
  std::shared_ptr<const void> mapping(address, [size](const void* p) { ::munmap(const_cast<void*>(p), size); });

  const std::span bytes(static_cast<const std::byte*>(address), size);
  const DecodedFile decoded = decode_structure(bytes, source);
  check_checksums(decoded, bytes, source);

  MappedModelFile file;
  static_cast<MappedSection&>(file) = view_section(decoded.sections[0], bytes);
  for (size_t i = 1; i < decoded.sections.size(); ++i) file.sections.push_back(view_section(decoded.sections[i], bytes));
  file.mapping_ = std::move(mapping);
  file.mapped_size_ = size;
  return file;
}

// ---- verifying reader -------------------------------------------------------

bool Verification::valid() const {
  if (!file_checksum.ok()) return false;
  for (const ChecksumCheck& check : tensor_checksums)
    if (!check.ok()) return false;
  return true;
}

Verification verify_model_bytes(std::span<const std::byte> bytes, std::string_view source_name) {
  const DecodedFile decoded = decode_structure(bytes, source_name);
  Verification result;
  result.summary = decoded.summary;
  for (const SectionEntry& section : decoded.sections)
    for (const TensorEntry& entry : section.tensors)
      result.tensor_checksums.push_back({section.name, entry.name, entry.stored_crc, crc32c(tensor_bytes(bytes, entry))});
  result.file_checksum = {"", "", decoded.stored_file_crc, compute_file_crc(bytes)};
  result.contents = copy_contents(decoded, bytes);
  return result;
}

Verification verify_model_file(const std::filesystem::path& path) {
  return verify_model_bytes(read_file_bytes(path), path.string());
}

}  // namespace gc::serialize
