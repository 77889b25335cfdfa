// --peer-status (control/peer_page.h): the URL check, the page with the peers' section, and
// the Access-Control-Allow-Origin header on /status of a server that has peers.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "steerdns/control/peer_page.h"
#include "steerdns/control/routes.h"
#include "steerdns/control/status_page.h"

using namespace steerdns;

TEST_CASE("peer_page: base URLs of control endpoints") {
    std::string url;
    std::string error;
    CHECK(control::parse_peer_url("http://192.0.2.53:8053", url, error));
    CHECK(url == "http://192.0.2.53:8053");
    CHECK(control::parse_peer_url("https://ns2.example.net:8053/", url, error));
    CHECK(url == "https://ns2.example.net:8053");  // the page adds /status
    CHECK(control::parse_peer_url("http://[2001:db8::53]:8053", url, error));
    CHECK(url == "http://[2001:db8::53]:8053");
    for (const char* bad :
         {"", "192.0.2.53:8053", "ftp://x", "http://", "http:///", "http://x/status", "http://x?y",
          "http://x\"y", "http://x<y", "http://x y"}) {
        CAPTURE(bad);
        error.clear();
        CHECK_FALSE(control::parse_peer_url(bad, url, error));
        CHECK_FALSE(error.empty());
    }
}

TEST_CASE("peer_page: the section and its URLs go before </body>, only with peers") {
    const std::string_view page = control::status_page_html();
    CHECK(control::with_peer_status(page, {}) == page);
    const std::string out =
        control::with_peer_status(page, {"http://192.0.2.53:8053", "http://192.0.2.54:8053"});
    const size_t section = out.find("<section id=\"peers\"");
    REQUIRE(section != std::string::npos);
    CHECK(out.find("const peers = [\"http://192.0.2.53:8053\",\"http://192.0.2.54:8053\"];") !=
          std::string::npos);
    CHECK(out.find("PEER_URLS") == std::string::npos);
    CHECK(section > out.find("<div id=\"zones\">"));
    CHECK(out.rfind("</body>") > section);
    CHECK(out.substr(0, section) == page.substr(0, section));  // the page itself is untouched
}

namespace {

struct StatusOnly : control::Backend {
    std::string metrics() override { return ""; }
    control::HttpResponse why(const control::WhyQuery&) override { return {}; }
    control::HttpResponse events() override { return {}; }
    control::HttpResponse status(const control::StatusQuery&) override {
        control::HttpResponse r;
        r.body = "{}";
        return r;
    }
    void drain(const control::DrainKey&, bool, control::Reply) override {}
    void reload(control::Reply) override {}
    void failback(const control::DrainKey&, control::Reply) override {}
};

control::HttpResponse get(control::Routes& routes, const std::string& path) {
    control::HttpRequest req;
    req.method = control::Method::get;
    req.method_text = "GET";
    req.path = path;
    control::HttpResponse out;
    routes.handle(req, [&](control::HttpResponse r) { out = std::move(r); });
    return out;
}

bool allows_any_origin(const control::HttpResponse& r) {
    for (const auto& [name, value] : r.headers)
        if (name == "Access-Control-Allow-Origin") return value == "*";
    return false;
}

}  // namespace

TEST_CASE("peer_page: /status allows other origins only on a server with peers") {
    StatusOnly b;
    control::Routes alone(b, control::AuthConfig{});
    CHECK_FALSE(allows_any_origin(get(alone, "/status")));
    CHECK(get(alone, "/").body.find("id=\"peers\"") == std::string::npos);
    control::Routes in_set(b, control::AuthConfig{}, {"http://192.0.2.53:8053"});
    CHECK(allows_any_origin(get(in_set, "/status")));
    CHECK_FALSE(allows_any_origin(get(in_set, "/metrics")));
    CHECK(get(in_set, "/").body.find("\"http://192.0.2.53:8053\"") != std::string::npos);
}
