// The control endpoint's HTTP layer without sockets: request parsing (partial, pipelined,
// oversized, malformed, the head check before the body), response bytes, and who may do what.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "steerdns/control/auth.h"
#include "steerdns/control/http_request.h"

using namespace steerdns::control;

namespace {

struct Parsed {
    std::vector<HttpRequest> requests;
    bool rejected = false;
    HttpResponse rejection;
    size_t consumed = 0;
};

// Feeds `chunks` one after the other, taking every complete request, as a connection would.
Parsed parse(const std::vector<std::string>& chunks, HttpLimits limits = {},
             RequestParser::HeadCheck check = {}) {
    RequestParser p(limits, std::move(check));
    Parsed out;
    std::string buffer;
    for (const std::string& c : chunks) {
        buffer += c;
        while (!buffer.empty()) {
            RequestParser::Status st;
            const size_t n = p.feed(buffer.data(), buffer.size(), st);
            out.consumed += n;
            buffer.erase(0, n);
            if (st == RequestParser::Status::request) {
                out.requests.push_back(p.take());
                continue;
            }
            if (st == RequestParser::Status::reject) {
                out.rejected = true;
                out.rejection = p.rejection();
                return out;
            }
            break;
        }
    }
    return out;
}

std::vector<std::string> bytes_of(const std::string& s) {
    std::vector<std::string> out;
    for (char c : s) out.emplace_back(1, c);
    return out;
}

}  // namespace

TEST_CASE("http: a GET with headers, path and query") {
    const Parsed r =
        parse({"GET /status?x=1 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer t0k\r\n\r\n"});
    REQUIRE(r.requests.size() == 1);
    CHECK(r.requests[0].method == Method::get);
    CHECK(r.requests[0].path == "/status");
    CHECK(r.requests[0].query == "x=1");
    CHECK(r.requests[0].authorization == "Bearer t0k");
    CHECK(r.requests[0].keep_alive);
    CHECK_FALSE(r.rejected);
}

TEST_CASE("http: a request arriving one byte at a time") {
    const std::string req =
        "POST /drain HTTP/1.1\r\nContent-Length: 13\r\nauthorization: Bearer abc\r\n\r\n{\"zone\": "
        "\"x\"}";
    const Parsed r = parse(bytes_of(req));
    REQUIRE(r.requests.size() == 1);
    CHECK(r.requests[0].method == Method::post);
    CHECK(r.requests[0].body == "{\"zone\": \"x\"}");
    CHECK(r.requests[0].authorization == "Bearer abc");  // header names are case-insensitive
    CHECK(r.consumed == req.size());
}

TEST_CASE("http: pipelined requests come out one at a time, in order") {
    const std::string three =
        "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyzGET /c "
        "HTTP/1.1\r\nConnection: close\r\n\r\n";
    const Parsed r = parse({three});
    REQUIRE(r.requests.size() == 3);
    CHECK(r.requests[0].path == "/a");
    CHECK(r.requests[1].path == "/b");
    CHECK(r.requests[1].body == "xyz");
    CHECK(r.requests[2].path == "/c");
    CHECK_FALSE(r.requests[2].keep_alive);
    // Split in the middle of the second request's body and of the third's request line.
    const Parsed s = parse({three.substr(0, 50), three.substr(50, 20), three.substr(70)});
    REQUIRE(s.requests.size() == 3);
    CHECK(s.requests[1].body == "xyz");
    CHECK(s.requests[2].path == "/c");
}

TEST_CASE("http: HTTP/1.0 closes unless it asks for keep-alive") {
    CHECK_FALSE(parse({"GET / HTTP/1.0\r\n\r\n"}).requests.at(0).keep_alive);
    CHECK(parse({"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"}).requests.at(0).keep_alive);
}

TEST_CASE("http: headers larger than the limit get 431") {
    HttpLimits limits;
    limits.max_header_bytes = 256;
    const Parsed r =
        parse({"GET / HTTP/1.1\r\nX-Big: " + std::string(300, 'a') + "\r\n\r\n"}, limits);
    CHECK(r.rejected);
    CHECK(r.rejection.status == 431);
    CHECK(r.rejection.close);
    CHECK(r.requests.empty());
    // A long URL counts too.
    CHECK(parse({"GET /" + std::string(300, 'a') + " HTTP/1.1\r\n\r\n"}, limits).rejection.status ==
          431);
}

TEST_CASE("http: a body above the limit is refused from its Content-Length, unread") {
    HttpLimits limits;
    limits.max_body_bytes = 100;
    const Parsed r = parse({"POST /drain HTTP/1.1\r\nContent-Length: 101\r\n\r\n"}, limits);
    CHECK(r.rejected);
    CHECK(r.rejection.status == 413);
    CHECK(r.rejection.body.find("100 bytes") != std::string::npos);
    // At the limit it is fine.
    const Parsed ok = parse(
        {"POST /drain HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x')}, limits);
    REQUIRE(ok.requests.size() == 1);
    CHECK(ok.requests[0].body.size() == 100);
}

TEST_CASE("http: a chunked body above the limit is refused while it arrives") {
    HttpLimits limits;
    limits.max_body_bytes = 10;
    const Parsed r =
        parse({"POST /drain HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n",
               "8\r\n12345678\r\n0\r\n\r\n"},
              limits);
    CHECK(r.rejected);
    CHECK(r.rejection.status == 413);
    const Parsed ok =
        parse({"POST /drain HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"},
              limits);
    REQUIRE(ok.requests.size() == 1);
    CHECK(ok.requests[0].body == "abcd");
}

TEST_CASE("http: malformed requests get 400") {
    for (const char* bad : {"GARBAGE\r\n\r\n", "NONSENSE\r\n\r\n",
                            "GET / HTTP/1.1\r\nBad Header\r\n\r\n", "GET / HTTP/9\r\n\r\n"}) {
        INFO(bad);
        const Parsed r = parse({bad});
        CHECK(r.rejected);
        CHECK(r.rejection.status == 400);
        CHECK(r.rejection.body.find("malformed HTTP request") != std::string::npos);
    }
}

TEST_CASE("http: the head check runs before any body byte is read") {
    int checks = 0;
    auto refuse_posts = [&](const HttpRequest& head) -> std::optional<HttpResponse> {
        ++checks;
        CHECK(head.body.empty());  // nothing of the body yet
        if (head.method == Method::post) return json_error(401, "wrong token");
        return std::nullopt;
    };
    const std::string req = "POST /drain HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
    const Parsed r = parse({req}, {}, refuse_posts);
    CHECK(checks == 1);
    CHECK(r.rejected);
    CHECK(r.rejection.status == 401);
    CHECK(r.rejection.close);
    CHECK(r.requests.empty());
    CHECK(r.consumed < req.size());  // the body was left unread
    const Parsed g = parse({"GET / HTTP/1.1\r\n\r\n"}, {}, refuse_posts);
    CHECK(g.requests.size() == 1);
}

TEST_CASE("http: response bytes") {
    HttpResponse r = json_error(404, "no such endpoint: /x");
    const std::string wire = serialize(r, true);
    CHECK(wire.rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
    CHECK(wire.find("Content-Type: application/json\r\n") != std::string::npos);
    CHECK(wire.find("Content-Length: " + std::to_string(r.body.size()) + "\r\n") !=
          std::string::npos);
    CHECK(wire.find("Connection: close") == std::string::npos);
    CHECK(wire.substr(wire.size() - r.body.size()) == r.body);
    CHECK(r.body == "{\"error\":\"no such endpoint: /x\"}\n");
    CHECK(serialize(r, false).find("Connection: close\r\n") != std::string::npos);
    const std::string head = serialize(r, true, true);  // HEAD: no body, same length header
    CHECK(head.size() == wire.size() - r.body.size());
}

TEST_CASE("http: a 204 (a CORS preflight's answer) carries no content headers") {
    HttpResponse r;
    r.status = 204;
    r.headers.emplace_back("Access-Control-Allow-Headers", "Authorization");
    const std::string wire = serialize(r, true);
    CHECK(wire.rfind("HTTP/1.1 204 No Content\r\n", 0) == 0);
    CHECK(wire.find("Content-Length") == std::string::npos);
    CHECK(wire.find("\r\nContent-Type:") == std::string::npos);
    CHECK(wire.find("Access-Control-Allow-Headers: Authorization\r\n") != std::string::npos);
    CHECK(wire.ends_with("\r\n\r\n"));
}

TEST_CASE("http: OPTIONS is parsed as such") {
    const Parsed p = parse({"OPTIONS /status HTTP/1.1\r\nOrigin: http://a\r\n\r\n"});
    REQUIRE(p.requests.size() == 1);
    CHECK(p.requests[0].method == Method::options);
    CHECK(p.requests[0].path == "/status");
    CHECK_FALSE(p.requests[0].private_network_requested);
}

TEST_CASE("http: Chrome's Private Network Access preflight is recognised") {
    const Parsed p =
        parse({"OPTIONS /status HTTP/1.1\r\nOrigin: http://a\r\n"
               "Access-Control-Request-Private-Network: true\r\n\r\n"
               "OPTIONS /status HTTP/1.1\r\n"
               "access-control-request-private-network: false\r\n\r\n"});
    REQUIRE(p.requests.size() == 2);
    CHECK(p.requests[0].private_network_requested);
    CHECK_FALSE(p.requests[1].private_network_requested);
}

TEST_CASE("auth: who may read and write") {
    const AuthConfig with{std::string("s3cret")};
    const AuthConfig without{};
    // Loopback reads are open, with or without a token configured.
    CHECK_FALSE(check_access(with, Method::get, true, ""));
    CHECK_FALSE(check_access(without, Method::head, true, ""));
    // Writes need the token.
    auto r = check_access(with, Method::post, true, "");
    REQUIRE(r);
    CHECK(r->status == 401);
    CHECK(r->close);
    CHECK(r->headers.at(0).first == "WWW-Authenticate");
    CHECK(check_access(with, Method::post, true, "Bearer wrong")->status == 401);
    CHECK(check_access(with, Method::post, true, "Bearer s3cret2")->status == 401);
    CHECK(check_access(with, Method::post, true, "Bearer s3cre")->status == 401);
    CHECK(check_access(with, Method::post, true, "Basic s3cret")->status == 401);
    CHECK(check_access(with, Method::post, true, "s3cret")->status == 401);
    CHECK_FALSE(check_access(with, Method::post, true, "Bearer s3cret"));
    CHECK_FALSE(check_access(with, Method::post, true, "bearer   s3cret  "));
    CHECK_FALSE(check_access(with, Method::other, true, "Bearer s3cret"));  // 405 comes later
    // No token file: writes are refused, and the message says what to do.
    r = check_access(without, Method::post, true, "Bearer anything");
    REQUIRE(r);
    CHECK(r->status == 403);
    CHECK(r->body.find("--control-token-file") != std::string::npos);
    // Other hosts need the token to read too.
    CHECK(check_access(with, Method::get, false, "")->status == 401);
    CHECK_FALSE(check_access(with, Method::get, false, "Bearer s3cret"));
    CHECK(check_access(without, Method::get, false, "")->status == 403);
}

TEST_CASE("auth: constant-time comparison") {
    CHECK(constant_time_equal("abc", "abc"));
    CHECK_FALSE(constant_time_equal("abd", "abc"));
    CHECK_FALSE(constant_time_equal("ab", "abc"));
    CHECK_FALSE(constant_time_equal("abcd", "abc"));
    CHECK_FALSE(constant_time_equal("", "abc"));
    CHECK(constant_time_equal("", ""));
    CHECK_FALSE(constant_time_equal(std::string("ab\0", 3), "ab"));
}

TEST_CASE("auth: loopback peers are open to reads by default") {
    const auto is_loopback = [](const sockaddr_storage& peer) {
        return reads_open_to(AuthConfig::default_read_from(), peer);
    };
    sockaddr_storage ss{};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(0x7f000002);  // 127.0.0.2
    CHECK(is_loopback(ss));
    v4->sin_addr.s_addr = htonl(0xc0000201);  // 192.0.2.1
    CHECK_FALSE(is_loopback(ss));
    ss = {};
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    v6->sin6_family = AF_INET6;
    v6->sin6_addr = in6addr_loopback;
    CHECK(is_loopback(ss));
    v6->sin6_addr = {};
    v6->sin6_addr.s6_addr[10] = 0xff;
    v6->sin6_addr.s6_addr[11] = 0xff;
    v6->sin6_addr.s6_addr[12] = 127;
    v6->sin6_addr.s6_addr[15] = 1;
    CHECK(is_loopback(ss));  // ::ffff:127.0.0.1
    v6->sin6_addr.s6_addr[12] = 10;
    CHECK_FALSE(is_loopback(ss));
}

TEST_CASE("auth: --control-read-from networks") {
    std::vector<steerdns::lb::Cidr> nets;
    std::string error;
    REQUIRE(parse_read_from("127.0.0.0/8, ::1/128,172.16.0.0/12", nets, error));
    CHECK(nets.size() == 3);
    sockaddr_storage ss{};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(0xac110002);  // 172.17.0.2, a docker bridge peer
    CHECK(reads_open_to(nets, ss));
    v4->sin_addr.s_addr = htonl(0xac200001);  // 172.32.0.1: outside /12
    CHECK_FALSE(reads_open_to(nets, ss));
    CHECK_FALSE(reads_open_to(AuthConfig::default_read_from(), ss));
    REQUIRE(parse_read_from("off", nets, error));
    CHECK(nets.empty());
    v4->sin_addr.s_addr = htonl(0x7f000001);
    CHECK_FALSE(reads_open_to(nets, ss));  // off: not even loopback
    CHECK_FALSE(parse_read_from("10.0.0.1/8", nets, error));
    CHECK(error.find("10.0.0.1/8") != std::string::npos);
    CHECK_FALSE(parse_read_from("", nets, error));
}

TEST_CASE("auth: the token file") {
    char dir_template[] = "/tmp/steerdns-token-XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    const std::string dir = dir_template;
    auto write = [&](const std::string& name, const std::string& text) {
        std::ofstream(dir + "/" + name, std::ios::binary) << text;
        return dir + "/" + name;
    };
    std::string token, error;
    CHECK(read_token_file(write("t1", "  abc-123_XYZ \n\n"), token, error));
    CHECK(token == "abc-123_XYZ");
    CHECK_FALSE(read_token_file(write("t2", " \n\t"), token, error));
    CHECK(error.find("empty") != std::string::npos);
    CHECK_FALSE(read_token_file(write("t3", "two words"), token, error));
    CHECK(error.find("one word") != std::string::npos);
    CHECK_FALSE(read_token_file(dir + "/missing", token, error));
    CHECK(error.find("missing: cannot read") != std::string::npos);
    for (const char* n : {"t1", "t2", "t3"}) std::remove((dir + "/" + n).c_str());
    rmdir(dir.c_str());
}
