#include "steerdns/lb/geoip.h"

#include <maxminddb.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

namespace steerdns::lb {

namespace {

// MMDB_aget_value with a fixed path: MMDB_get_value's varargs form callocs the path on every
// call, which the query path must not do.
constexpr const char* kCountryPath[] = {"country", "iso_code", nullptr};
constexpr const char* kContinentPath[] = {"continent", "code", nullptr};

void read_code(MMDB_entry_s entry, const char* const* path, char (&out)[2]) {
    MMDB_entry_data_s data;
    if (MMDB_aget_value(&entry, &data, path) != MMDB_SUCCESS || !data.has_data) return;
    if (data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size != 2) return;
    std::memcpy(out, data.utf8_string, 2);
}

}  // namespace

struct GeoIp::Handle {
    MMDB_s mmdb{};
    bool opened = false;  // MMDB_open cleans up after itself when it fails

    Handle() = default;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() {
        if (opened) MMDB_close(&mmdb);
    }
};

GeoIp::GeoIp() = default;
GeoIp::GeoIp(GeoIp&&) noexcept = default;
GeoIp& GeoIp::operator=(GeoIp&&) noexcept = default;
GeoIp::~GeoIp() = default;

bool GeoIp::open(const std::string& path, std::string& error) {
    auto db = std::make_unique<Handle>();
    const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db->mmdb);
    if (status != MMDB_SUCCESS) {
        const int saved_errno = errno;
        error = "cannot open GeoIP database \"" + path + "\": " +
                (status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR
                     ? std::string(std::strerror(saved_errno))
                     : std::string(MMDB_strerror(status)));
        return false;
    }
    db->opened = true;
    path_ = path;
    db_ = std::move(db);
    return true;
}

std::string_view GeoIp::database_type() const {
    if (!db_) return {};
    const char* type = db_->mmdb.metadata.database_type;
    return type != nullptr ? std::string_view(type) : std::string_view();
}

uint16_t GeoIp::ip_version() const {
    return db_ ? db_->mmdb.metadata.ip_version : 0;
}

bool GeoIp::lookup(const sockaddr* address, GeoLocation& out) const {
    if (!db_) return false;
    int mmdb_error = MMDB_SUCCESS;
    const MMDB_lookup_result_s result = MMDB_lookup_sockaddr(&db_->mmdb, address, &mmdb_error);
    // An IPv6 address in an IPv4-only database is an error, not a miss; both mean "no data".
    if (mmdb_error != MMDB_SUCCESS || !result.found_entry) return false;
    out = GeoLocation{};
    read_code(result.entry, kCountryPath, out.country);
    read_code(result.entry, kContinentPath, out.continent);
    // In an IPv6 tree IPv4 lives under ::/96, and the netmask libmaxminddb returns counts
    // those 96 bits: bring it back to the IPv4 prefix ECS talks about.
    uint16_t prefix = result.netmask;
    if (address->sa_family == AF_INET && db_->mmdb.metadata.ip_version == 6)
        prefix = prefix >= 96 ? static_cast<uint16_t>(prefix - 96) : 0;
    out.prefix = static_cast<uint8_t>(prefix);
    return true;
}

bool GeoIp::lookup(uint8_t family, const uint8_t* address, GeoLocation& out) const {
    if (family == 6) {
        sockaddr_in6 sa{};
        sa.sin6_family = AF_INET6;
        std::memcpy(&sa.sin6_addr, address, 16);
        return lookup(reinterpret_cast<const sockaddr*>(&sa), out);
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    std::memcpy(&sa.sin_addr, address, 4);
    return lookup(reinterpret_cast<const sockaddr*>(&sa), out);
}

}  // namespace steerdns::lb
