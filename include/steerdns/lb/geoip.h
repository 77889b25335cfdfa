// A MaxMind GeoIP2/GeoLite2 database (.mmdb) opened with libmaxminddb: address -> country ISO
// code, continent code, and the database network the address fell in (its prefix length is
// the ECS scope of a country or continent answer).
//
// The file is memory-mapped once at load; a lookup walks the mapped search tree and reads two
// strings from it: no allocation, no syscall, safe from any number of threads at once.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "steerdns/lb/geo_rules.h"

namespace steerdns::lb {

class GeoIp {
  public:
    // Opens `path`; on failure returns nothing and sets `error` to a message fit for the
    // operator ("cannot open GeoIP database \"PATH\": REASON").
    static std::optional<GeoIp> open(const std::string& path, std::string& error);

    // `address`: 4 or 16 bytes in network order, as `family` (4 or 6) says. True when the
    // database has an entry for the address (its country or continent may still be empty).
    bool lookup(uint8_t family, const uint8_t* address, GeoLocation& out) const;
    bool lookup(const sockaddr* address, GeoLocation& out) const;

    GeoIp(GeoIp&&) noexcept;
    GeoIp& operator=(GeoIp&&) noexcept;
    ~GeoIp();

    const std::string& path() const { return path_; }
    std::string_view database_type() const;  // "GeoLite2-City", "GeoIP2-Country", ...
    uint16_t ip_version() const;             // 4: IPv4 only; 6: IPv6 tree, IPv4 inside

  private:
    struct Handle;  // MMDB_s, closed by its destructor; keeps <maxminddb.h> out of this header
    GeoIp(std::string path, std::unique_ptr<Handle> db);

    std::string path_;
    // On the heap so GeoIp can move while libmaxminddb's state stays put.
    std::unique_ptr<Handle> db_;
};

}  // namespace steerdns::lb
