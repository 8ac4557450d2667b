#include "plan/taskmaster.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/error.h"
#include "plan/plan_json.h"

namespace harness {

namespace {

bool is_tasks_list_holder(const Json& value) {
  if (!value.is_object()) return false;
  const auto tasks = value.find("tasks");
  return tasks != value.end() && tasks->is_array();
}

bool is_taskmaster_task(const Json& task) {
  return task.is_object() &&
         (task.contains("title") || task.contains("subtasks") || task.contains("testStrategy") ||
          task.contains("details") || (task.contains("id") && task["id"].is_number_integer()));
}

std::int64_t priority_of(const std::optional<std::string>& priority, const JsonPlace& place) {
  if (!priority) return 0;
  if (*priority == "critical") return 2;
  if (*priority == "high") return 1;
  if (*priority == "medium") return 0;
  if (*priority == "low") return -1;
  place.fail("expected a priority of \"critical\", \"high\", \"medium\" or \"low\", found \"" +
             *priority + "\"");
}

// A dependency as written, to be resolved once every id is known.
struct WrittenDependency {
  std::string id;  // as written: "2", "1.3"
  bool integer;    // written as a number
  JsonPlace place;
};

struct Entry {
  Task task;
  std::string parent;  // for a subtask: its parent's id
  std::vector<WrittenDependency> written;
  std::vector<std::string> subtasks;  // for a task: its subtasks' ids
};

class TaskmasterReader {
 public:
  explicit TaskmasterReader(const std::string& source) : source_(source) {}

  ParsedPlan read(const Json& document, std::string_view tag) {
    const JsonPlace root(source_, 0);
    if (!document.is_object()) root.expected("a Taskmaster tasks.json object", document);
    ParsedPlan plan;
    const Json* holder = &document;
    JsonPlace place = root;
    if (!is_tasks_list_holder(document)) {
      const auto tagged = document.find(tag);
      if (tagged == document.end()) root.fail(missing_tag(document, tag));
      holder = &*tagged;
      place = root / tag;
      if (!is_tasks_list_holder(*holder))
        place.fail("expected an object with a \"tasks\" list, found " + describe_json(*holder));
      const auto metadata = holder->find("metadata");
      if (metadata != holder->end() && metadata->is_object())
        plan.goal = optional_string(*metadata, "description", place / "metadata");
    }
    const Json& tasks = (*holder)["tasks"];
    for (std::size_t i = 0; i < tasks.size(); ++i) add_task(tasks[i], (place / "tasks")[i]);
    if (entries_.empty()) (place / "tasks").fail("expected at least one task, found none");
    link();
    for (Entry& entry : entries_) plan.workflow.tasks.push_back(std::move(entry.task));
    return plan;
  }

 private:
  static std::string missing_tag(const Json& document, std::string_view tag) {
    std::string tags;
    for (const auto& [name, value] : document.items())
      if (is_tasks_list_holder(value)) tags += (tags.empty() ? "" : ", ") + name;
    return "expected the tag '" + std::string(tag) + "' (choose one with --tag), found " +
           (tags.empty() ? std::string("no tag with a \"tasks\" list and no top-level \"tasks\"")
                         : "the tags " + tags);
  }

  void add_task(const Json& value, const JsonPlace& place) {
    const std::size_t index = add_entry(value, place, std::string());
    const std::string parent = entries_[index].task.id;
    const Json* subtasks = optional_list(value, "subtasks", place, "a list of subtasks");
    if (!subtasks) return;
    for (std::size_t i = 0; i < subtasks->size(); ++i) {
      const std::size_t sub = add_entry((*subtasks)[i], (place / "subtasks")[i], parent);
      entries_[index].subtasks.push_back(entries_[sub].task.id);
    }
  }

  std::size_t add_entry(const Json& value, const JsonPlace& place, const std::string& parent) {
    if (!value.is_object()) place.expected("a task object", value);
    const auto id = value.find("id");
    if (id == value.end()) place.fail("expected an \"id\"");
    Entry entry;
    Task& task = entry.task;
    task.id = id_of(*id, place / "id");
    if (!parent.empty() && task.id.rfind(parent + ".", 0) != 0)  // "1.2" under 1 stays "1.2"
      task.id = parent + "." + task.id;
    if (const auto seen = path_of_.find(task.id); seen != path_of_.end())
      (place / "id")
          .fail("task " + task.id + " is defined twice (" + seen->second + " and " + place.path() +
                "); expected unique task ids");
    path_of_.emplace(task.id, place.path());
    entry.parent = parent;
    const std::optional<std::string> title = optional_string(value, "title", place);
    const std::optional<std::string> description = optional_string(value, "description", place);
    task.description = title ? *title : description.value_or("Task " + task.id);
    for (const std::optional<std::string>& text :
         {title ? description : std::nullopt, optional_string(value, "details", place)})
      if (text && !text->empty())
        task.instructions = task.instructions ? *task.instructions + "\n\n" + *text : *text;
    const std::optional<std::string> test = optional_string(value, "testStrategy", place);
    if (test && !test->empty()) task.packet->success_criteria = test;
    const std::optional<std::string> status = optional_string(value, "status", place);
    if (status == "done" || status == "completed") task.status = TaskStatus::kCompleted;
    task.priority = priority_of(optional_string(value, "priority", place), place / "priority");
    read_dependencies(value, place, entry);
    entries_.push_back(std::move(entry));
    return entries_.size() - 1;
  }

  static void read_dependencies(const Json& value, const JsonPlace& place, Entry& entry) {
    const Json* dependencies = optional_list(value, "dependencies", place, "a list of task ids");
    if (!dependencies) return;
    const JsonPlace list = place / "dependencies";
    for (std::size_t i = 0; i < dependencies->size(); ++i) {
      const Json& dependency = (*dependencies)[i];
      entry.written.push_back({id_of(dependency, list[i]), !dependency.is_string(), list[i]});
    }
  }

  // A dependency's full id: for a subtask, a sibling when one has that id, else the task of
  // that full id.
  std::string resolve(const Entry& entry, const WrittenDependency& dependency) const {
    if (!entry.parent.empty() && dependency.id.find('.') == std::string::npos) {
      const std::string sibling = entry.parent + "." + dependency.id;
      if (path_of_.count(sibling)) return sibling;
    }
    if (path_of_.count(dependency.id)) return dependency.id;
    dependency.place.fail(
        "task " + entry.task.id + " depends on '" + dependency.id + "', which no task" +
        (entry.parent.empty() ? std::string() : " or subtask of " + entry.parent) +
        " has as its id");
  }

  // Each task's dependencies: what it names, then (for a task) its subtasks; a subtask that
  // names no sibling also waits for what its parent waits for.
  void link() {
    std::unordered_map<std::string, std::vector<std::string>> named_by;
    for (Entry& entry : entries_) {
      std::vector<std::string>& dependencies = entry.task.dependencies;
      bool names_sibling = false;
      for (const WrittenDependency& written : entry.written) {
        const std::string id = resolve(entry, written);
        if (id == entry.parent) continue;  // "after my parent": its parent's dependencies
        names_sibling =
            names_sibling || (!entry.parent.empty() && id.rfind(entry.parent + ".", 0) == 0);
        add_once(dependencies, id);
      }
      if (entry.parent.empty()) {
        for (const std::string& id : dependencies)  // not its own subtasks: they wait for it
          if (id.rfind(entry.task.id + ".", 0) != 0) named_by[entry.task.id].push_back(id);
        for (const std::string& id : entry.subtasks) add_once(dependencies, id);
      } else if (!names_sibling) {
        for (const std::string& id : named_by[entry.parent]) add_once(dependencies, id);
      }
    }
  }

  static void add_once(std::vector<std::string>& ids, const std::string& id) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }

  const std::string& source_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::string> path_of_;  // id -> where it was defined
};

}  // namespace

ParsedPlan taskmaster_plan_from_json(const Json& document, const std::string& source,
                                     std::string_view tag) {
  return TaskmasterReader(source).read(document, tag);
}

ParsedPlan parse_taskmaster_plan(std::string_view text, const std::string& source,
                                 std::string_view tag) {
  return taskmaster_plan_from_json(parse_json_naming_line(text, source), source, tag);
}

bool looks_like_taskmaster(const Json& document) {
  if (!document.is_object()) return false;
  if (is_tasks_list_holder(document)) {
    const Json& tasks = document["tasks"];
    return std::any_of(tasks.begin(), tasks.end(), is_taskmaster_task);
  }
  for (const auto& [name, value] : document.items())
    if (is_tasks_list_holder(value)) return true;
  return false;
}

}  // namespace harness
