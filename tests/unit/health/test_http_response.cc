// The http check's response reader: what arrives off the wire, in any number of pieces.
#include "steerdns/health/http_response.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

namespace steerdns::test {
namespace {

using health::HttpResponseReader;
using Progress = HttpResponseReader::Progress;

// Feeds `wire` `step` bytes at a time; the progress after the last piece.
Progress feed_in_pieces(HttpResponseReader& r, const std::string& wire, size_t step) {
    Progress p = Progress::more;
    for (size_t at = 0; at < wire.size(); at += step) {
        p = r.feed(wire.data() + at, std::min(step, wire.size() - at));
        if (p != Progress::more) break;
    }
    return p;
}

}  // namespace

TEST_CASE("http response: status line and Content-Length body, kept connection") {
    HttpResponseReader r;
    const std::string wire = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy";
    CHECK_FALSE(r.started());
    CHECK(r.feed(wire.data(), wire.size()) == Progress::complete);
    CHECK(r.started());
    CHECK(r.status() == 503);
    CHECK(r.body() == "busy");
    CHECK(r.reusable());

    // The next response on the same connection.
    r.reset();
    CHECK_FALSE(r.started());
    const std::string next = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    CHECK(r.feed(next.data(), next.size()) == Progress::complete);
    CHECK(r.status() == 200);
    CHECK(r.body() == "ok");
}

TEST_CASE("http response: split over many reads, one byte at a time") {
    const std::string wire =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world";
    for (size_t step : {1u, 2u, 3u, 7u, 16u}) {
        HttpResponseReader r;
        CHECK(feed_in_pieces(r, wire, step) == Progress::complete);
        CHECK(r.status() == 200);
        CHECK(r.body() == "hello world");
        CHECK(r.reusable());
    }
}

TEST_CASE("http response: chunked, the body whole across chunk and read boundaries") {
    const std::string wire =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nsta\r\n4\r\ntus:\r\n6\r\n alive\r\n0\r\n\r\n";
    for (size_t step : {size_t{1}, size_t{5}, wire.size()}) {
        HttpResponseReader r;
        CHECK(feed_in_pieces(r, wire, step) == Progress::complete);
        CHECK(r.body() == "status: alive");
        CHECK(r.body().find("us: al") != std::string::npos);  // spans three chunks
        CHECK(r.reusable());
    }
}

TEST_CASE("http response: without keep_body the body is read but not stored") {
    HttpResponseReader r(false);
    const std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    CHECK(r.feed(wire.data(), wire.size()) == Progress::complete);
    CHECK(r.body().empty());
    CHECK(r.reusable());
}

TEST_CASE("http response: Connection close, HTTP/1.0 and a body to the end of the stream") {
    HttpResponseReader r;
    std::string wire = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
    CHECK(r.feed(wire.data(), wire.size()) == Progress::complete);
    CHECK_FALSE(r.reusable());

    r.reset();
    wire = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
    CHECK(r.feed(wire.data(), wire.size()) == Progress::complete);
    CHECK_FALSE(r.reusable());

    r.reset();
    wire = "HTTP/1.1 200 OK\r\n\r\nuntil the end";
    CHECK(r.feed(wire.data(), wire.size()) == Progress::more);
    CHECK(r.end_of_stream() == Progress::complete);
    CHECK(r.body() == "until the end");
    CHECK_FALSE(r.reusable());
}

TEST_CASE("http response: the connection ends before or inside the response") {
    HttpResponseReader r;
    CHECK(r.end_of_stream() == Progress::error);
    CHECK(r.error() == "connection closed before the response");
    CHECK_FALSE(r.started());

    r.reset();
    const std::string cut = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    CHECK(r.feed(cut.data(), cut.size()) == Progress::more);
    CHECK(r.started());
    CHECK(r.end_of_stream() == Progress::error);
    CHECK(r.error() == "connection closed inside the response");

    r.reset();
    const std::string head = "HTTP/1.1 200 OK\r\nContent-";
    CHECK(r.feed(head.data(), head.size()) == Progress::more);
    CHECK(r.end_of_stream() == Progress::error);
}

TEST_CASE("http response: not HTTP is an error with the parser's words") {
    HttpResponseReader r;
    const std::string wire = "SSH-2.0-OpenSSH_9.2\r\n";
    CHECK(r.feed(wire.data(), wire.size()) == Progress::error);
    CHECK(r.error().rfind("bad response: ", 0) == 0);
    CHECK(r.error().size() > 14);
}

TEST_CASE("http response: the body is capped; bytes after the response spoil the connection") {
    HttpResponseReader r(true, 8);
    std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789abcdefghij";
    CHECK(feed_in_pieces(r, wire, 3) == Progress::capped);
    CHECK(r.body() == "01234567");
    CHECK_FALSE(r.reusable());

    HttpResponseReader exact(true, 8);
    wire = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n01234567";
    CHECK(exact.feed(wire.data(), wire.size()) == Progress::complete);
    CHECK(exact.reusable());

    HttpResponseReader extra;
    wire = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n";
    CHECK(extra.feed(wire.data(), wire.size()) == Progress::complete);
    CHECK(extra.body() == "ok");
    CHECK_FALSE(extra.reusable());
}

}  // namespace steerdns::test
