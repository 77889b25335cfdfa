// Socket addresses as the daemon, the control endpoint and the command line use them: parsed
// from ADDR:PORT, printed, and their port read.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace steerdns::util {

// The port of an IPv4 or IPv6 socket address, in host order.
uint16_t port_of(const sockaddr_storage& ss);

// "192.0.2.1" or "2001:db8::1" for 4 or 16 address bytes (`family` 4 or 6); "" if inet_ntop
// fails.
std::string address_text(int family, const void* bytes);
// Appends the same text, without a temporary string (the query log's writer).
void append_address_text(std::string& out, int family, const void* bytes);

struct ListenAddr {
    sockaddr_storage addr{};
    socklen_t len = 0;
    std::string text;  // as the operator wrote it, for logs
    int family() const { return addr.ss_family; }
    bool is_wildcard() const;
    uint16_t port() const { return port_of(addr); }
    void set_port(uint16_t port);
};

// Parses "127.0.0.1:5300", "[::1]:5300" or "[::]:53". False with `error` set otherwise.
bool parse_listen(const std::string& text, ListenAddr& out, std::string& error);

}  // namespace steerdns::util
