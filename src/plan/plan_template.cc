#include "plan/plan_template.h"

namespace harness {

namespace {

constexpr std::string_view kJson = R"({
  "goal": "Add a health endpoint",
  "tasks": {
    "1": {
      "description": "Write the handler",
      "instructions": "Add GET /health returning 200 and the version.",
      "role": "backend",
      "files_in_scope": ["src/http/"],
      "verification_commands": ["make test"]
    },
    "2": {"description": "Document the endpoint", "dependencies": ["1"]},
    "3": {"description": "Add a smoke test", "dependencies": ["1"], "priority": 1}
  }
}
)";

constexpr std::string_view kMarkdown = R"(# Health endpoint

**Goal:** Add a health endpoint

## Task 1: Write the handler

Add GET /health returning 200 and the version.

## Task 2: Document the endpoint

Describe /health in docs/api.md.

## Task 3: Add a smoke test

Call /health from tests/smoke.sh.

## Parallel Groups

| Group | Tasks | Notes |
|-------|-------|-------|
| Group 1 | 1 | the handler first |
| Group 2 | 2, 3 | then both in parallel |
)";

constexpr std::string_view kSpeckit = R"(# Tasks: Health endpoint

## Phase 1: Core

- [ ] T001 Write the handler in src/http/health.py

## Phase 2: Polish

- [ ] T002 [P] Document the endpoint in docs/api.md
- [ ] T003 [P] Add a smoke test in tests/smoke.sh
)";

constexpr std::string_view kXml = R"(<?xml version="1.0" encoding="UTF-8"?>
<plan goal="Add a health endpoint">
  <task id="1" role="backend" model="sonnet" priority="1">
    <description>Write the handler</description>
    <instructions>Add GET /health returning 200 and the version.</instructions>
    <success>GET /health answers 200 with {"version": ...}</success>
    <scope><include>src/http/</include><exclude>src/db/</exclude></scope>
    <interface><input>the version string in src/version.h</input><output>GET /health</output></interface>
    <constraints>No new dependencies.</constraints>
    <tools>bash, git</tools>
    <verification><command>make test</command></verification>
    <artifacts><read>docs/api.md</read><write>src/http/health.cc</write></artifacts>
  </task>
  <task id="2"><description>Document the endpoint</description></task>
  <task id="3"><description>Add a smoke test</description></task>
  <dependencies>
    <dep from="2" to="1"/>
    <dep from="3" to="1"/>
  </dependencies>
</plan>
)";

constexpr std::string_view kTaskmaster = R"({
  "master": {
    "tasks": [
      {
        "id": 1,
        "title": "Write the handler",
        "description": "Add GET /health.",
        "details": "Return 200 and the version.",
        "testStrategy": "GET /health answers 200",
        "priority": "high",
        "status": "pending",
        "dependencies": [],
        "subtasks": [
          {"id": 1, "title": "Route", "status": "pending", "dependencies": []},
          {"id": 2, "title": "Response body", "status": "pending", "dependencies": [1]}
        ]
      },
      {"id": 2, "title": "Document the endpoint", "status": "pending", "dependencies": [1]},
      {"id": 3, "title": "Add a smoke test", "status": "pending", "dependencies": ["1"]}
    ],
    "metadata": {"description": "Add a health endpoint"}
  }
}
)";

constexpr std::string_view kBeads =
    R"({"id":"hp-1","title":"Write the handler","description":"Add GET /health.","status":"open","priority":1,"issue_type":"task","dependencies":[]}
{"id":"hp-2","title":"Document the endpoint","status":"open","priority":2,"issue_type":"task","dependencies":[{"issue_id":"hp-2","depends_on_id":"hp-1","type":"blocks"}]}
{"id":"hp-3","title":"Add a smoke test","status":"open","priority":2,"issue_type":"task","dependencies":[{"issue_id":"hp-3","depends_on_id":"hp-1","type":"blocks"},{"issue_id":"hp-3","depends_on_id":"hp-2","type":"related"}]}
)";

}  // namespace

std::string_view plan_template(PlanFormat format) {
  switch (format) {
    case PlanFormat::kMarkdown:
      return kMarkdown;
    case PlanFormat::kSpeckit:
      return kSpeckit;
    case PlanFormat::kXml:
      return kXml;
    case PlanFormat::kTaskmaster:
      return kTaskmaster;
    case PlanFormat::kBeads:
      return kBeads;
    case PlanFormat::kJson:
      break;
  }
  return kJson;
}

}  // namespace harness
