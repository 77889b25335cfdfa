#include "steerdns/control/routes.h"

#include <nlohmann/json.hpp>

#include "steerdns/control/peer_page.h"
#include "steerdns/control/status_page.h"
#include "steerdns/zone/json_reader.h"

namespace steerdns::control {
namespace {

HttpResponse content(std::string type, std::string body) {
    HttpResponse r;
    r.content_type = std::move(type);
    r.body = std::move(body);
    return r;
}

// --peer-status: the pages of the NS set's other servers read GET /status cross-origin, with
// "Authorization: Bearer" when the operator typed the token into the page (peer_page.h).
// Cookies and HTTP auth are never involved, so "*" is safe: what protects /status is still
// --control-read-from and the token, for every origin alike.
void allow_cross_origin(HttpResponse& r) {
    r.headers.emplace_back("Access-Control-Allow-Origin", "*");
}

bool is_status_preflight(const HttpRequest& req) {
    return req.method == Method::options && req.path == "/status";
}

HttpResponse method_not_allowed(const HttpRequest& req, const char* allow) {
    HttpResponse r = json_error(
        405, req.method_text + " " + req.path + ": method not allowed (allowed: " + allow + ")");
    r.headers.emplace_back("Allow", allow);
    return r;
}

}  // namespace

bool parse_drain_body(std::string_view body, DrainKey& out, std::string& error) {
    static constexpr const char* kExample =
        " (expected {\"zone\": \"lb.example.test.\", \"pool\": \"www\", \"address\": "
        "\"192.0.2.11\"})";
    nlohmann::json doc;
    std::string syntax;
    if (!zone::parse_json(body, doc, syntax)) {
        error = "request body is not JSON: " + syntax + kExample;
        return false;
    }
    if (!doc.is_object()) {
        error = std::string("request body must be a JSON object") + kExample;
        return false;
    }
    for (const auto& [key, value] : doc.items()) {
        if (key != "zone" && key != "pool" && key != "address") {
            error = "unknown key \"" + key + "\"" + kExample;
            return false;
        }
    }
    std::string parts[3];
    const char* names[3] = {"zone", "pool", "address"};
    for (int i = 0; i < 3; ++i) {
        const auto it = doc.find(names[i]);
        if (it == doc.end()) {
            error = std::string("missing \"") + names[i] + "\"" + kExample;
            return false;
        }
        if (!it->is_string()) {
            error = std::string("\"") + names[i] + "\" must be a string";
            return false;
        }
        parts[i] = it->get<std::string>();
    }
    return zone::make_drain_key(parts[0], parts[1], parts[2], out, error);
}

std::optional<HttpResponse> Routes::authorize(const HttpRequest& head,
                                              const sockaddr_storage& peer) const {
    const bool peers = !peer_status_.empty();
    // A browser's preflight carries no Authorization header by design: it asks whether the
    // GET that would carry one is allowed. It reads nothing.
    if (peers && is_status_preflight(head)) return std::nullopt;
    std::optional<HttpResponse> refused =
        check_access(auth_, head.method, reads_open_to(auth_.read_from, peer), head.authorization);
    // A peer's page can then tell "needs the token" (401) from "unreachable".
    if (refused && peers && head.path == "/status") allow_cross_origin(*refused);
    return refused;
}

void Routes::handle(HttpRequest req, const Reply& reply) {
    const bool read = req.method == Method::get || req.method == Method::head;
    const std::string& path = req.path;
    if (!peer_status_.empty() && is_status_preflight(req)) {
        HttpResponse r;
        r.status = 204;
        allow_cross_origin(r);
        r.headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD");
        r.headers.emplace_back("Access-Control-Allow-Headers", "Authorization");
        r.headers.emplace_back("Access-Control-Max-Age", "600");
        // A page served from a public address reading a peer on a private one (or loopback):
        // Chrome asks first, and refuses the read unless the peer says yes.
        if (req.private_network_requested)
            r.headers.emplace_back("Access-Control-Allow-Private-Network", "true");
        return reply(std::move(r));
    }
    if (path == "/" || path == "/metrics" || path == "/status") {
        if (!read) return reply(method_not_allowed(req, "GET, HEAD"));
        if (path == "/")
            return reply(content("text/html; charset=utf-8",
                                 with_peer_status(status_page_html(), peer_status_)));
        if (path == "/metrics")
            return reply(content("text/plain; version=0.0.4; charset=utf-8", backend_.metrics()));
        StatusQuery query;
        std::string error;
        HttpResponse r = parse_status_query(req.query, query, error) ? backend_.status(query)
                                                                     : json_error(400, error);
        if (!peer_status_.empty()) allow_cross_origin(r);
        return reply(std::move(r));
    }
    if (path == "/events") {
        if (!read) return reply(method_not_allowed(req, "GET, HEAD"));
        return reply(backend_.events());
    }
    if (path == "/why") {
        if (!read) return reply(method_not_allowed(req, "GET, HEAD"));
        WhyQuery query;
        std::string error;
        if (!parse_why_query(req.query, query, error)) return reply(json_error(400, error));
        return reply(backend_.why(query));
    }
    if (path == "/drain" || path == "/undrain" || path == "/reload" || path == "/failback") {
        if (req.method != Method::post) return reply(method_not_allowed(req, "POST"));
        if (path == "/reload") return backend_.reload(reply);
        DrainKey key;  // /failback names a member as /drain does
        std::string error;
        if (!parse_drain_body(req.body, key, error)) return reply(json_error(400, error));
        if (path == "/failback") return backend_.failback(key, reply);
        return backend_.drain(key, path == "/drain", reply);
    }
    reply(json_error(
        404, "no such endpoint: " + path +
                 " (endpoints: GET /, /status, /metrics, /why, /events; POST /drain, /undrain, "
                 "/failback, /reload)"));
}

}  // namespace steerdns::control
