#include "plan/speckit.h"

#include <cctype>
#include <optional>
#include <unordered_map>
#include <vector>

#include "plan/plan_text.h"

namespace harness {

namespace {

struct TaskLine {
  std::string id;
  std::string description;
  bool completed;
  bool parallel;  // [P]
  std::size_t indent;
};

// "- [ ] T001 [P] [US1] Description": the task, else nullopt (also for a checkbox without id).
std::optional<TaskLine> task_line(std::string_view line) {
  const std::size_t indent = line.find_first_not_of(" \t");
  if (indent == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(indent);
  if (rest.size() < 6 || (rest[0] != '-' && rest[0] != '*' && rest[0] != '+') || rest[1] != ' ')
    return std::nullopt;
  rest = trim(rest.substr(1));
  if (rest.size() < 3 || rest[0] != '[' || rest[2] != ']') return std::nullopt;
  const char mark = rest[1];
  if (mark != ' ' && mark != 'x' && mark != 'X') return std::nullopt;
  const std::string text = without_emphasis(trim(rest.substr(3)));
  rest = text;
  std::size_t end = 1;
  while (end < rest.size() && std::isdigit(static_cast<unsigned char>(rest[end]))) ++end;
  if (rest.empty() || rest[0] != 'T' || end == 1) return std::nullopt;
  if (end < rest.size() && !std::isspace(static_cast<unsigned char>(rest[end])) && rest[end] != ':')
    return std::nullopt;
  TaskLine task{std::string(rest.substr(0, end)), {}, mark != ' ', false, indent};
  rest = trim(rest.substr(end));
  if (!rest.empty() && rest[0] == ':') rest = trim(rest.substr(1));
  while (!rest.empty() && rest[0] == '[') {  // [P], [US1], [Story]
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) break;
    if (rest.substr(1, close - 1) == "P" || rest.substr(1, close - 1) == "p") task.parallel = true;
    rest = trim(rest.substr(close + 1));
  }
  task.description = rest.empty() ? task.id : std::string(rest);
  return task;
}

// "Phase 3.1: Setup", "Phase 2：Tests" (full-width colon), "Phase 1 - Setup".
bool is_phase_heading(std::string_view text) {
  const std::string plain = without_emphasis(text);
  std::string_view rest = trim(plain);
  if (!starts_with_word(rest, "phase ")) return false;
  rest = trim(rest.substr(6));
  return !rest.empty() && std::isdigit(static_cast<unsigned char>(rest[0]));
}

struct Phase {
  std::vector<std::size_t> tasks;
};

class SpeckitReader {
 public:
  explicit SpeckitReader(const std::string& source) : source_(source) {}

  ParsedPlan read(std::string_view text) {
    for (const MarkdownLine& line : markdown_lines(text)) take(line);
    if (tasks_.empty())
      fail_at(source_, 1, "expected tasks such as '- [ ] T001 Description', found none");
    ParsedPlan plan;
    for (std::size_t i = 0; i < tasks_.size(); ++i) {
      if (!instructions_[i].empty()) tasks_[i].instructions = instructions_[i];
      plan.workflow.tasks.push_back(std::move(tasks_[i]));
    }
    return plan;
  }

 private:
  void take(const MarkdownLine& line) {
    if (line.in_code) return add_instructions(line.text);
    if (const std::optional<Heading> heading = heading_of(line.text)) {
      last_task_.reset();
      if (is_phase_heading(heading->text)) {
        start_phase();
        phase_level_ = heading->level;
      } else if (phase_open_ && heading->level <= phase_level_) {
        phase_open_ = false;  // "## Dependencies" after the last phase
      }
      return;
    }
    if (const std::optional<TaskLine> task = task_line(line.text)) return add(*task, line.number);
    add_instructions(line.text);
  }

  void start_phase() {
    if (!phases_.empty() && !phases_.back().tasks.empty()) previous_ = phases_.size() - 1;
    phases_.emplace_back();
    phase_open_ = true;
  }

  void add(const TaskLine& line, std::size_t number) {
    if (const auto seen = line_of_.find(line.id); seen != line_of_.end())
      fail_at(source_, number,
              "task " + line.id + " is listed twice (line " + std::to_string(seen->second) +
                  " and line " + std::to_string(number) + "); expected unique task ids");
    line_of_.emplace(line.id, number);
    if (!phase_open_) start_phase();
    Task task;
    task.id = line.id;
    task.description = line.description;
    if (line.completed) task.status = TaskStatus::kCompleted;
    if (previous_)
      for (const std::size_t before : phases_[*previous_].tasks)
        task.dependencies.push_back(tasks_[before].id);
    std::vector<std::size_t>& phase = phases_.back().tasks;
    if (!line.parallel && !phase.empty()) task.dependencies.push_back(tasks_[phase.back()].id);
    phase.push_back(tasks_.size());
    tasks_.push_back(std::move(task));
    instructions_.emplace_back();
    last_task_ = line.indent;
    blank_before_ = false;
  }

  // A line indented under the last task (blank lines between allowed) belongs to it.
  void add_instructions(std::string_view line) {
    if (!last_task_) return;
    const std::size_t indent = line.find_first_not_of(" \t");
    if (indent == std::string_view::npos) {
      blank_before_ = true;
      return;
    }
    if (indent <= *last_task_) {
      last_task_.reset();
      return;
    }
    std::string& text = instructions_.back();
    if (!text.empty()) text += blank_before_ ? "\n\n" : "\n";
    blank_before_ = false;
    text += trim(line);
  }

  const std::string& source_;
  std::vector<Task> tasks_;
  std::vector<std::string> instructions_;
  std::vector<Phase> phases_;
  std::optional<std::size_t> previous_;  // the last phase before the current one with tasks
  bool phase_open_ = false;
  int phase_level_ = 0;
  std::optional<std::size_t> last_task_;  // the indent of the last task line, while it continues
  bool blank_before_ = false;
  std::unordered_map<std::string, std::size_t> line_of_;
};

}  // namespace

ParsedPlan parse_speckit_plan(std::string_view text, const std::string& source) {
  return SpeckitReader(source).read(text);
}

bool is_speckit_task_line(std::string_view line) { return task_line(line).has_value(); }

}  // namespace harness
