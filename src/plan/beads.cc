#include "plan/beads.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/error.h"
#include "plan/plan_json.h"
#include "plan/plan_text.h"

namespace harness {

namespace {

struct Blocker {
  std::string id;
  JsonPlace place;
};

struct Issue {
  Task task;
  std::vector<Blocker> blockers;
};

std::int64_t priority_of(const Json& issue, const JsonPlace& place) {
  const auto priority = issue.find("priority");
  if (priority == issue.end() || priority->is_null()) return 0;
  if (!priority->is_number_integer() || priority->get<std::int64_t>() < 0 ||
      priority->get<std::int64_t>() > 4)
    (place / "priority").expected("a priority from 0 to 4", *priority);
  return 2 - priority->get<std::int64_t>();
}

void add_paragraph(std::optional<std::string>& text, const std::optional<std::string>& paragraph,
                   std::string_view heading = {}) {
  if (!paragraph || trim(*paragraph).empty()) return;
  const std::string block = std::string(heading) + *paragraph;
  text = text ? *text + "\n\n" + block : block;
}

class BeadsReader {
 public:
  explicit BeadsReader(const std::string& source) : source_(source) {}

  ParsedPlan read(std::string_view text) {
    std::size_t number = 0;
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    while (!text.empty()) {
      const std::size_t end = text.find('\n');
      ++number;
      const std::string_view line = trim(text.substr(0, end));
      if (!line.empty()) take(line, number);
      if (end == std::string_view::npos) break;
      text.remove_prefix(end + 1);
    }
    if (issues_.empty())
      fail_at(source_, 1, "expected beads issues, one JSON object a line; found none");
    ParsedPlan plan;
    for (Issue& issue : issues_) {
      for (const Blocker& blocker : issue.blockers) {
        if (tombstones_.count(blocker.id)) continue;
        if (!line_of_.count(blocker.id))
          blocker.place.fail("issue " + issue.task.id + " is blocked by '" + blocker.id +
                             "', which is not an issue of this file");
        std::vector<std::string>& dependencies = issue.task.dependencies;
        if (std::find(dependencies.begin(), dependencies.end(), blocker.id) == dependencies.end())
          dependencies.push_back(blocker.id);
      }
      plan.workflow.tasks.push_back(std::move(issue.task));
    }
    return plan;
  }

 private:
  void take(std::string_view line, std::size_t number) {
    const Json issue =
        parse_json_naming_line(line, source_, number, "expected one JSON object a line: ");
    const JsonPlace place(source_, number);
    if (!issue.is_object()) place.expected("a beads issue (a JSON object)", issue);
    const auto id_value = issue.find("id");
    if (id_value == issue.end()) place.fail("expected an issue with an \"id\"");
    const std::string id = id_of(*id_value, place / "id");
    if (const auto seen = line_of_.find(id); seen != line_of_.end())
      fail_at(source_, number,
              "issue " + id + " is listed twice (line " + std::to_string(seen->second) +
                  " and line " + std::to_string(number) + "); expected unique issue ids");
    line_of_.emplace(id, number);
    const std::optional<std::string> status = optional_string(issue, "status", place);
    if (status == "tombstone") {
      tombstones_.insert(id);
      line_of_.erase(id);
      return;
    }
    Issue read;
    Task& task = read.task;
    task.id = id;
    task.description = optional_string(issue, "title", place).value_or("Issue " + id);
    if (status == "closed") task.status = TaskStatus::kCompleted;
    task.priority = priority_of(issue, place);
    add_paragraph(task.instructions, optional_string(issue, "description", place));
    add_paragraph(task.instructions, optional_string(issue, "design", place), "Design:\n");
    add_paragraph(task.instructions, optional_string(issue, "notes", place), "Notes:\n");
    const std::optional<std::string> criteria =
        optional_string(issue, "acceptance_criteria", place);
    if (criteria && !trim(*criteria).empty()) task.packet->success_criteria = criteria;
    std::vector<std::string> metadata;
    const std::optional<std::string> type = optional_string(issue, "issue_type", place);
    if (type && *type != "task") metadata.push_back("type " + *type);
    add_labels(issue, place, metadata);
    read_dependencies(issue, place, read, metadata);
    std::string links;
    for (const std::string& item : metadata) links += (links.empty() ? "" : "; ") + item;
    if (!links.empty()) add_paragraph(task.instructions, links, "beads: ");
    issues_.push_back(std::move(read));
  }

  static void add_labels(const Json& issue, const JsonPlace& place,
                         std::vector<std::string>& metadata) {
    const Json* labels = optional_list(issue, "labels", place, "a list of labels");
    if (!labels) return;
    std::string text;
    for (std::size_t i = 0; i < labels->size(); ++i) {
      if (!(*labels)[i].is_string()) (place / "labels")[i].expected("a string", (*labels)[i]);
      text += (text.empty() ? "" : ", ") + (*labels)[i].get<std::string>();
    }
    if (!text.empty()) metadata.push_back("labels " + text);
  }

  static void read_dependencies(const Json& issue, const JsonPlace& place, Issue& read,
                                std::vector<std::string>& metadata) {
    const Json* dependencies =
        optional_list(issue, "dependencies", place, "a list of dependencies");
    if (!dependencies) return;
    const JsonPlace list = place / "dependencies";
    for (std::size_t i = 0; i < dependencies->size(); ++i) {
      const Json& dependency = (*dependencies)[i];
      const JsonPlace at = list[i];
      if (!dependency.is_object()) at.expected("a dependency object", dependency);
      const auto target = dependency.find("depends_on_id");
      if (target == dependency.end()) at.fail("expected a \"depends_on_id\"");
      const std::string depends_on = id_of(*target, at / "depends_on_id");
      const std::string type = optional_string(dependency, "type", at).value_or("blocks");
      if (type == "blocks") {
        read.blockers.push_back({depends_on, at});
      } else {
        metadata.push_back(type + " " + depends_on);
      }
    }
  }

  const std::string& source_;
  std::vector<Issue> issues_;
  std::unordered_map<std::string, std::size_t> line_of_;
  std::unordered_set<std::string> tombstones_;
};

}  // namespace

ParsedPlan parse_beads_plan(std::string_view text, const std::string& source) {
  return BeadsReader(source).read(text);
}

bool looks_like_beads_issue(const Json& value) {
  return value.is_object() && !value.contains("tasks") && value.contains("id") &&
         (value.contains("title") || value.contains("issue_type"));
}

}  // namespace harness
