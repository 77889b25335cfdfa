#include "steerdns/util/file.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>

namespace steerdns::util {
namespace {

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

bool read_file(const std::string& path, std::string& out, std::string& error, uint64_t limit) {
    errno = 0;
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
    if (!f) {
        error = std::generic_category().message(errno);
        return false;
    }
    // Sized once from the file's size: appended by doubling, a 4.6 MB zone file took 8 MB, and
    // a reload holds two (the served one is kept for drains).
    struct stat st {};
    if (::fstat(::fileno(f.get()), &st) == 0 && st.st_size > 0)
        out.reserve(std::min<uint64_t>(static_cast<uint64_t>(st.st_size), limit + 1));
    char buf[1 << 16];
    size_t n;
    while (out.size() <= limit && (n = std::fread(buf, 1, sizeof buf, f.get())) > 0)
        out.append(buf, n);
    if (std::ferror(f.get())) {
        error = std::generic_category().message(errno);
        return false;
    }
    return true;
}

}  // namespace steerdns::util
