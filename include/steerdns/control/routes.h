// What the control endpoint answers: method and path to handler, the drain request body, and
// the errors (400, 404, 405) in one place. The daemon behind it is a Backend, so the routing
// is tested without sockets.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "steerdns/control/auth.h"
#include "steerdns/control/drain_state.h"
#include "steerdns/control/http_request.h"
#include "steerdns/control/status_query.h"
#include "steerdns/control/why_query.h"

namespace steerdns::control {

using Reply = std::function<void(HttpResponse)>;

class Backend {
  public:
    virtual ~Backend() = default;
    virtual std::string metrics() = 0;  // Prometheus text
    // GET /status with its parsed query string: the JSON document, or 404 for a zone or pool
    // that is not served.
    virtual HttpResponse status(const StatusQuery& query) = 0;
    // GET /why: the decision trace for one name and client (JSON {"lines": [...]}).
    virtual HttpResponse why(const WhyQuery& query) = 0;
    // GET /events: the last member state changes, newest first (JSON array).
    virtual HttpResponse events() = 0;
    // Drains (or undrains) a member; replies once answers reflect it (or with the error).
    virtual void drain(const DrainKey& key, bool drain, Reply reply) = 0;
    // POST /failback: lets a member in standby (awaiting failback) back into answers.
    virtual void failback(const DrainKey& key, Reply reply) = 0;
    // Reloads every zone file now; replies with what each file gave.
    virtual void reload(Reply reply) = 0;
};

// The body of POST /drain and /undrain: {"zone": ..., "pool": ..., "address": ...}; false with
// `error` set to what is wrong with it (the 400 response's message).
bool parse_drain_body(std::string_view body, DrainKey& out, std::string& error);

class Routes {
  public:
    // peer_status: --peer-status base URLs, shown on the page (peer_page.h).
    Routes(Backend& backend, AuthConfig auth, std::vector<std::string> peer_status = {})
        : backend_(backend), auth_(std::move(auth)), peer_status_(std::move(peer_status)) {}

    // The head check of the HTTP server: the token, before any body is read.
    std::optional<HttpResponse> authorize(const HttpRequest& head,
                                          const sockaddr_storage& peer) const;
    void handle(HttpRequest req, const Reply& reply);

  private:
    Backend& backend_;
    AuthConfig auth_;
    std::vector<std::string> peer_status_;
};

}  // namespace steerdns::control
