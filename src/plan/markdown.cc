#include "plan/markdown.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "plan/plan_text.h"

namespace harness {

namespace {

bool has_digit(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

bool is_integer(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Drops one separator between a task id and its title: ":", "：", "-", "–", "—", ".".
std::string_view after_separator(std::string_view text) {
  text = trim(text);
  for (const std::string_view separator :
       {":", "\xEF\xBC\x9A", "-", "\xE2\x80\x93", "\xE2\x80\x94", "."})
    if (text.substr(0, separator.size()) == separator) return trim(text.substr(separator.size()));
  return text;
}

struct TaskHeading {
  std::string id;
  std::string title;
};

// "Task 10a: Title" -> {"10a", "Title"}; the id must hold a digit ("## Task Groups" is not one).
std::optional<TaskHeading> task_heading(std::string_view heading_text) {
  const std::string text = without_emphasis(heading_text);
  std::string_view rest = trim(text);
  if (!starts_with_word(rest, "task") || rest.size() < 5 || (rest[4] != ' ' && rest[4] != '\t'))
    return std::nullopt;
  rest = trim(rest.substr(4));
  std::size_t end = 0;
  while (end < rest.size() && (std::isalnum(static_cast<unsigned char>(rest[end])) ||
                               rest[end] == '.' || rest[end] == '_' || rest[end] == '-'))
    ++end;
  std::string_view id = rest.substr(0, end);
  while (!id.empty() && (id.back() == '.' || id.back() == '-')) id.remove_suffix(1);
  if (id.empty() || !has_digit(id)) return std::nullopt;
  const std::string_view title = after_separator(rest.substr(id.size()));
  return TaskHeading{std::string(id), std::string(title)};
}

bool is_group_heading(std::string_view text) {
  const std::string words = lower(without_emphasis(text));
  for (const char* name : {"parallel group", "task group", "parallel execution", "execution group"})
    if (words.find(name) != std::string::npos) return true;
  return words == "groups";
}

bool is_goal_heading(std::string_view text) {
  const std::string words = lower(trim(without_emphasis(text)));
  return words == "goal" || words == "goals";
}

// "**Goal:** text" or "**Goal**: text": the text, else nullopt.
std::optional<std::string> goal_line(std::string_view line) {
  std::string_view text = trim(line);
  const auto skip_stars = [&] {
    text = text.substr(std::min(text.find_first_not_of('*'), text.size()));
  };
  skip_stars();
  if (!starts_with_word(text, "goal")) return std::nullopt;
  text.remove_prefix(4);
  skip_stars();
  for (const std::string_view colon : {":", "\xEF\xBC\x9A"}) {
    if (text.substr(0, colon.size()) != colon) continue;
    text.remove_prefix(colon.size());
    skip_stars();
    return std::string(trim(text));
  }
  return std::nullopt;
}

// "**Depends on:** Task 2, Task 3" (or "none"), as a line of its own: the list, else nullopt.
std::optional<std::string> depends_line(std::string_view line) {
  std::string_view text = trim(line);
  for (const std::string_view mark : {"**Depends on:**", "**Depends on**:"})
    if (text.substr(0, mark.size()) == mark) return std::string(trim(text.substr(mark.size())));
  return std::nullopt;
}

std::vector<std::string> table_cells(std::string_view line) {
  line = trim(line);
  if (line.empty() || line.front() != '|') return {};
  line.remove_prefix(1);
  if (!line.empty() && line.back() == '|') line.remove_suffix(1);
  std::vector<std::string> cells;
  for (;;) {
    const std::size_t bar = line.find('|');
    cells.push_back(without_emphasis(trim(line.substr(0, bar))));
    if (bar == std::string_view::npos) return cells;
    line.remove_prefix(bar + 1);
  }
}

bool is_separator_row(const std::vector<std::string>& cells) {
  return std::all_of(cells.begin(), cells.end(), [](const std::string& cell) {
    return !cell.empty() && cell.find_first_not_of("-: ") == std::string::npos;
  });
}

// A group as a plan lists it: its name ("1", "10", "A"), where, and the text of its tasks. A
// task's "**Depends on:**" line is read as a listing too, named "task N's 'Depends on'".
struct GroupListing {
  std::string name;
  std::size_t line;
  std::string tasks;
  std::string owner;  // for errors: "group 1"
};

// "Group 3 (optional)" -> "3", "Group B" -> "B", "3" -> "3"; anything else -> nullopt.
std::optional<std::string> group_name(std::string_view cell) {
  std::string_view text = trim(cell);
  const bool named = starts_with_word(text, "group");
  if (named) text = trim(text.substr(5));
  std::size_t end = 0;
  while (end < text.size() && std::isalnum(static_cast<unsigned char>(text[end]))) ++end;
  if (end == 0 || !(named || has_digit(text.substr(0, end)))) return std::nullopt;
  return std::string(text.substr(0, end));
}

// "**Group 1:** Tasks 1-3" (also as a list item, or "Group 1 — Tasks 1, 2"): the listing, else
// nullopt. A line that names no task ("**Group 1** - Foundation") is not a listing.
std::optional<GroupListing> group_line(std::string_view line, std::size_t number) {
  const std::string text = without_emphasis(trim(line));
  std::string_view rest = text;
  std::size_t marker = rest.find_first_not_of("0123456789");  // "1. Group 1: ..."
  if (marker > 0 && marker != std::string_view::npos &&
      (rest[marker] == '.' || rest[marker] == ')'))
    rest = trim(rest.substr(marker + 1));
  if (!rest.empty() && (rest[0] == '-' || rest[0] == '+')) rest = trim(rest.substr(1));
  if (!starts_with_word(rest, "group ")) return std::nullopt;
  const std::optional<std::string> name = group_name(rest);
  if (!name || !has_digit(*name)) return std::nullopt;
  rest = trim(rest.substr(5));
  rest.remove_prefix(name->size());
  std::size_t separator = rest.find(':');
  for (const std::string_view dash : {"\xE2\x80\x94", "\xE2\x80\x93", " - "})
    separator = std::min(separator, rest.find(dash));
  if (separator == std::string_view::npos) return std::nullopt;
  const std::string_view tasks = after_separator(rest.substr(separator));
  if (!has_digit(tasks)) return std::nullopt;
  return GroupListing{*name, number, std::string(tasks), "group " + *name};
}

// Columns of a group table, from its header row.
struct GroupTable {
  std::size_t group_column;
  std::size_t tasks_column;
};

// A header row with a group column ("Task Group", "Group") and a tasks column ("Tasks",
// "Task IDs").
std::optional<GroupTable> group_table_header(const std::vector<std::string>& cells) {
  std::optional<std::size_t> group, tasks;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const std::string name = lower(cells[i]);
    if (name.find("group") != std::string::npos) {
      if (!group) group = i;
    } else if (starts_with_word(name, "task") && !tasks) {
      tasks = i;
    }
  }
  if (!group || !tasks) return std::nullopt;
  return GroupTable{*group, *tasks};
}

// Orders group names numerically ("10" after "9"), names without a number last.
auto group_order_key(const std::string& name) {
  std::size_t digits = 0;
  while (digits < name.size() && std::isdigit(static_cast<unsigned char>(name[digits]))) ++digits;
  const std::string number = name.substr(0, digits);
  const std::string trimmed = number.substr(std::min(number.find_first_not_of('0'), number.size()));
  return std::make_tuple(digits == 0, trimmed.size(), trimmed, name.substr(digits));
}

struct TaskSection {
  Task task;
  std::size_t line;
  int level;
  std::vector<std::string_view> body;
  std::optional<GroupListing> depends;  // its "**Depends on:**" line
};

std::optional<std::string> instructions_of(std::vector<std::string_view> body) {
  const auto blank_or_rule = [](std::string_view line) {
    const std::string_view t = trim(line);
    return t.empty() || t.find_first_not_of("-*_ ") == std::string_view::npos;
  };
  while (!body.empty() && blank_or_rule(body.back())) body.pop_back();
  auto first = std::find_if_not(body.begin(), body.end(),
                                [](std::string_view line) { return trim(line).empty(); });
  if (first == body.end()) return std::nullopt;
  std::string text;
  for (auto it = first; it != body.end(); ++it) {
    if (!text.empty() || it != first) text += '\n';
    text += *it;
  }
  return text;
}

class MarkdownReader {
 public:
  MarkdownReader(const std::string& source, bool parallel) : source_(source), parallel_(parallel) {}

  ParsedPlan read(std::string_view text) {
    for (const MarkdownLine& line : markdown_lines(text)) take(line);
    if (tasks_.empty()) fail_at(source_, 1, "expected '## Task N: Title' headings, found none");
    ParsedPlan plan;
    plan.goal = goal_;
    link();
    for (TaskSection& section : tasks_) {
      section.task.instructions = instructions_of(section.body);
      plan.workflow.tasks.push_back(std::move(section.task));
    }
    return plan;
  }

 private:
  enum class Section { kOther, kTask, kGroups, kGoal };

  void take(const MarkdownLine& line) {
    if (!line.in_code)
      if (const std::optional<Heading> heading = heading_of(line.text))
        return enter(*heading, line);
    if (section_ == Section::kTask) {
      if (!line.in_code)
        if (std::optional<std::string> depends = depends_line(line.text))
          return set_depends(std::move(*depends), line.number);
      tasks_.back().body.push_back(line.text);
      // A group table or "**Group 2:** Tasks 3-5" under the last task, without a heading of
      // its own: a group header row, or bold, so not the task's prose.
      if (line.in_code) return;
      if (line.text.find("**") != std::string_view::npos || !table_cells(line.text).empty())
        return take_group_listing(line);
      table_.reset();
      return;
    }
    if (line.in_code) return;
    if (section_ == Section::kGoal) {
      if (!goal_section_done_) add_goal_text(line.text);
      return;
    }
    if (!goal_)
      if (std::optional<std::string> goal = goal_line(line.text); goal && !goal->empty())
        goal_ = std::move(*goal);
    take_group_listing(line);
  }

  void enter(const Heading& heading, const MarkdownLine& line) {
    if (section_ == Section::kGoal && goal_) goal_section_done_ = true;
    table_.reset();
    if (const std::optional<TaskHeading> task = task_heading(heading.text)) {
      start_task(*task, heading.level, line.number);
    } else if (is_group_heading(heading.text)) {
      section_ = Section::kGroups;
    } else if (is_goal_heading(heading.text) && !goal_) {
      section_ = Section::kGoal;
    } else if (section_ == Section::kTask && heading.level > tasks_.back().level) {
      tasks_.back().body.push_back(line.text);
    } else {
      section_ = Section::kOther;
    }
  }

  void start_task(const TaskHeading& heading, int level, std::size_t number) {
    if (const auto seen = line_of_.find(heading.id); seen != line_of_.end())
      fail_at(source_, number,
              "task " + heading.id + " is defined twice (line " + std::to_string(seen->second) +
                  " and line " + std::to_string(number) + "); expected unique task ids");
    line_of_.emplace(heading.id, number);
    Task task;
    task.id = heading.id;
    task.description = heading.title.empty() ? "Task " + heading.id : heading.title;
    tasks_.push_back({std::move(task), number, level, {}, std::nullopt});
    section_ = Section::kTask;
  }

  void set_depends(std::string tasks, std::size_t number) {
    TaskSection& section = tasks_.back();
    if (section.depends)
      fail_at(source_, number,
              "task " + section.task.id + " has a second '**Depends on:**' line (line " +
                  std::to_string(section.depends->line) + " and line " + std::to_string(number) +
                  "); expected one");
    section.depends = GroupListing{section.task.id, number, std::move(tasks),
                                   "task " + section.task.id + "'s '**Depends on:**' line"};
  }

  void add_goal_text(std::string_view line) {
    const std::string_view text = trim(line);
    if (text.empty()) {
      if (goal_) goal_section_done_ = true;  // the goal is its first paragraph
      return;
    }
    goal_ = goal_ ? *goal_ + " " + std::string(text) : std::string(text);
  }

  void take_group_listing(const MarkdownLine& line) {
    const std::vector<std::string> cells = table_cells(line.text);
    if (cells.empty()) {
      table_.reset();
      if (std::optional<GroupListing> listing = group_line(line.text, line.number))
        listings_.push_back(std::move(*listing));
      return;
    }
    if (!table_) {
      table_ = group_table_header(cells);
      return;
    }
    if (is_separator_row(cells)) return;
    const std::string& group_cell =
        table_->group_column < cells.size() ? cells[table_->group_column] : std::string();
    const std::optional<std::string> name = group_name(group_cell);
    if (!name)
      fail_at(source_, line.number,
              "expected a group ('Group 1', 'Group A' or '1') in the group column, found '" +
                  group_cell + "'");
    const std::string tasks =
        table_->tasks_column < cells.size() ? cells[table_->tasks_column] : std::string();
    listings_.push_back({*name, line.number, tasks, "group " + *name});
  }

  // The index of the task `token` names ("3", "Task 3", "T3"), else nullopt.
  std::optional<std::size_t> task_named(std::string_view token) const {
    for (const std::string_view prefix : {"", "tasks", "task", "#", "t"}) {
      if (!starts_with_word(token, prefix)) continue;
      const auto it = index_of_.find(std::string(token.substr(prefix.size())));
      if (it != index_of_.end()) return it->second;
    }
    return std::nullopt;
  }

  [[noreturn]] void unknown_task(const GroupListing& listing, std::string_view token) const {
    fail_at(source_, listing.line,
            listing.owner + " lists task '" + std::string(token) + "', but no '## Task " +
                std::string(token) + ":' heading defines it");
  }

  // "1, 2, 4", "Tasks 1-3", "Task 1 and Task 2", "1–3 (parallel)": the tasks in that order.
  std::vector<std::size_t> tasks_of(const GroupListing& listing) const {
    std::string text;
    int depth = 0;
    for (const char c : listing.tasks) {  // remarks in parentheses are not tasks
      depth += c == '(' ? 1 : c == ')' && depth > 0 ? -1 : 0;
      if (depth == 0 && c != ')') text += c;
    }
    for (const std::string_view dash : {"\xE2\x80\x93", "\xE2\x80\x94"})
      for (std::size_t at; (at = text.find(dash)) != std::string::npos;)
        text.replace(at, dash.size(), "-");
    for (const std::string_view word : {" - ", " to ", " through "})
      for (std::size_t at; (at = text.find(word)) != std::string::npos;)
        text.replace(at, word.size(), "-");
    for (char& c : text)
      if (c == ',' || c == ';' || c == '&' || c == '/' || c == '`' || c == '\t') c = ' ';
    std::vector<std::size_t> out;
    std::string_view rest = text;
    while (!(rest = trim(rest)).empty()) {
      std::string_view token = rest.substr(0, rest.find(' '));
      rest.remove_prefix(token.size());
      while (!token.empty() && (token.back() == '.' || token.back() == ':')) token.remove_suffix(1);
      if (!has_digit(token)) continue;  // "Tasks", "and", "parallel"
      if (const std::optional<std::size_t> task = task_named(token)) {
        out.push_back(*task);
      } else if (const std::size_t dash = token.find('-'); dash != std::string_view::npos) {
        add_range(listing, token.substr(0, dash), token.substr(dash + 1), out);
      } else {
        unknown_task(listing, token);
      }
    }
    return out;
  }

  // "1-3": tasks 1, 2 and 3 (each must exist); "2a-2c": the tasks from 2a to 2c in the document.
  void add_range(const GroupListing& listing, std::string_view from, std::string_view to,
                 std::vector<std::size_t>& out) const {
    const std::optional<std::size_t> first = task_named(from);
    const std::optional<std::size_t> last = task_named(to);
    if (!first) unknown_task(listing, from);
    if (!last) unknown_task(listing, to);
    if (*first > *last)
      fail_at(source_, listing.line,
              listing.owner + " lists the range " + std::string(from) + "-" + std::string(to) +
                  "; expected its first task before its last");
    const std::string& first_id = tasks_[*first].task.id;
    const std::string& last_id = tasks_[*last].task.id;
    if (is_integer(first_id) && is_integer(last_id) && first_id.size() < 10 &&
        last_id.size() < 10) {
      for (long n = std::stol(first_id); n <= std::stol(last_id); ++n) {
        const std::optional<std::size_t> task = task_named(std::to_string(n));
        if (!task) unknown_task(listing, std::to_string(n));
        out.push_back(*task);
      }
      return;
    }
    for (std::size_t i = *first; i <= *last; ++i) out.push_back(i);
  }

  // Sets every task's dependencies (README, "Plan formats"): a task's "**Depends on:**" line
  // replaces what groups or document order would give it.
  void link() {
    implicit_links();
    for (TaskSection& section : tasks_) {
      if (!section.depends) continue;
      section.task.dependencies.clear();
      std::vector<std::string>& dependencies = section.task.dependencies;
      for (const std::size_t task : tasks_of(*section.depends))
        if (std::find(dependencies.begin(), dependencies.end(), tasks_[task].task.id) ==
            dependencies.end())
          dependencies.push_back(tasks_[task].task.id);
    }
  }

  void implicit_links() {
    for (std::size_t i = 0; i < tasks_.size(); ++i) index_of_.emplace(tasks_[i].task.id, i);
    std::map<decltype(group_order_key("")), std::vector<std::size_t>> groups;
    std::vector<std::optional<const GroupListing*>> group_of(tasks_.size());
    for (const GroupListing& listing : listings_) {
      std::vector<std::size_t>& members = groups[group_order_key(listing.name)];
      for (const std::size_t task : tasks_of(listing)) {
        if (const auto& other = group_of[task]) {
          if ((*other)->name == listing.name) continue;
          fail_at(source_, listing.line,
                  "task " + tasks_[task].task.id + " is in group " + (*other)->name + " (line " +
                      std::to_string((*other)->line) + ") and in group " + listing.name +
                      "; expected each task in one group");
        }
        group_of[task] = &listing;
        members.push_back(task);
      }
    }
    if (groups.empty()) {
      if (!parallel_)
        for (std::size_t i = 1; i < tasks_.size(); ++i)
          tasks_[i].task.dependencies = {tasks_[i - 1].task.id};
      return;
    }
    const std::vector<std::size_t>* previous = nullptr;
    for (const auto& [key, members] : groups) {
      if (members.empty()) continue;
      if (previous)
        for (const std::size_t task : members)
          for (const std::size_t before : *previous)
            tasks_[task].task.dependencies.push_back(tasks_[before].task.id);
      previous = &members;
    }
    for (std::size_t i = 0; i < tasks_.size(); ++i)
      if (!group_of[i])
        for (std::size_t before = 0; before < i; ++before)
          tasks_[i].task.dependencies.push_back(tasks_[before].task.id);
  }

  const std::string& source_;
  const bool parallel_;
  Section section_ = Section::kOther;
  std::vector<TaskSection> tasks_;
  std::unordered_map<std::string, std::size_t> line_of_;
  std::unordered_map<std::string, std::size_t> index_of_;
  std::vector<GroupListing> listings_;
  std::optional<GroupTable> table_;
  std::optional<std::string> goal_;
  bool goal_section_done_ = false;
};

}  // namespace

ParsedPlan parse_markdown_plan(std::string_view text, const std::string& source, bool parallel) {
  return MarkdownReader(source, parallel).read(text);
}

bool is_markdown_task_heading(std::string_view line) {
  const std::optional<Heading> heading = heading_of(line);
  return heading && task_heading(heading->text).has_value();
}

}  // namespace harness
