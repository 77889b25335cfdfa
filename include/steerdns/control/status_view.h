// GET /status with its query string (status_query.h): the zones, pools and members it selects,
// whole, or with ?since= only what changed after that revision (status_revisions.h), plus
// the answer counts per member sampled every 10 s (answer_history.h). README "Control
// endpoint" describes the documents.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "steerdns/control/answer_history.h"
#include "steerdns/control/status_json.h"
#include "steerdns/control/status_query.h"
#include "steerdns/control/status_revisions.h"

namespace steerdns::control {

// Why `query` selects nothing that exists ("zone x. not found (zones served: ...)"); nullopt
// when its zone and pool are served (a state that no member is in is no error).
std::optional<std::string> unknown_selection(const StatusModel& model, const StatusQuery& query);

// The document for `query`, from `model` as `revisions` last observed it.
nlohmann::ordered_json status_view(const StatusModel& model, const StatusRevisions& revisions,
                                   const AnswerHistory& history, const StatusQuery& query);

}  // namespace steerdns::control
