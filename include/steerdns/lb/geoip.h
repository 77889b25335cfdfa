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
#include <string>
#include <string_view>

#include "steerdns/lb/geo_rules.h"

namespace steerdns::lb {

class GeoIp {
  public:
    // Not open: every lookup misses until open() succeeds.
    GeoIp();

    // Opens `path` (closing what was open before); false with `error` set to a message fit
    // for the operator ("cannot open GeoIP database \"PATH\": REASON"), leaving this as it was.
    bool open(const std::string& path, std::string& error);
    bool is_open() const { return db_ != nullptr; }

    // `address`: 4 or 16 bytes in network order, as `family` (4 or 6) says. True when the
    // database has an entry for the address (its country or continent may still be empty).
    bool lookup(uint8_t family, const uint8_t* address, GeoLocation& out) const;
    bool lookup(const sockaddr* address, GeoLocation& out) const;

    GeoIp(GeoIp&&) noexcept;
    GeoIp& operator=(GeoIp&&) noexcept;
    ~GeoIp();

    const std::string& path() const { return path_; }
    std::string_view database_type() const;  // "GeoLite2-City", "GeoIP2-Country", ...; "" if closed
    uint16_t ip_version() const;  // 4: IPv4 only; 6: IPv6 tree, IPv4 inside; 0 when closed

  private:
    struct Handle;  // MMDB_s, closed by its destructor; keeps <maxminddb.h> out of this header

    std::string path_;
    // On the heap so GeoIp can move while libmaxminddb's state stays put.
    std::unique_ptr<Handle> db_;
};

}  // namespace steerdns::lb
