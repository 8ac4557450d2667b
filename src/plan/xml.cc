#include "plan/xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "plan/plan_text.h"

namespace harness {

namespace {

using Document = std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)>;
using Context = std::unique_ptr<xmlParserCtxt, decltype(&xmlFreeParserCtxt)>;

bool named(const xmlNode* node, const char* name) {
  return node->type == XML_ELEMENT_NODE &&
         xmlStrEqual(node->name, reinterpret_cast<const xmlChar*>(name));
}

std::string name_of(const xmlNode* node) { return reinterpret_cast<const char*>(node->name); }

std::size_t line_of(const xmlNode* node) {
  const long line = xmlGetLineNo(node);
  return line > 0 ? static_cast<std::size_t>(line) : 1;
}

std::vector<const xmlNode*> elements(const xmlNode* parent) {
  std::vector<const xmlNode*> out;
  for (const xmlNode* child = parent->children; child; child = child->next)
    if (child->type == XML_ELEMENT_NODE) out.push_back(child);
  return out;
}

std::optional<std::string> attribute(const xmlNode* node, const char* name) {
  xmlChar* value = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
  if (!value) return std::nullopt;
  std::string text(reinterpret_cast<const char*>(value));
  xmlFree(value);
  return text;
}

// The text of `node` and its descendants (CDATA too); no entity is ever expanded, because a
// document with a DTD is refused before.
std::string text_of(const xmlNode* node) {
  xmlChar* content = xmlNodeGetContent(node);
  if (!content) return {};
  std::string text(reinterpret_cast<const char*>(content));
  xmlFree(content);
  return text;
}

// The text with its common indentation removed, and blank lines at either end: a block
// indented inside its element reads as it was written.
std::string block_of(const xmlNode* node) {
  std::vector<std::string_view> lines;
  const std::string text = text_of(node);
  std::string_view rest = text;
  for (;;) {
    const std::size_t end = rest.find('\n');
    lines.push_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  while (!lines.empty() && trim(lines.front()).empty()) lines.erase(lines.begin());
  while (!lines.empty() && trim(lines.back()).empty()) lines.pop_back();
  std::size_t indent = std::string_view::npos;
  for (const std::string_view line : lines)
    if (!trim(line).empty()) indent = std::min(indent, line.find_first_not_of(" \t"));
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (i) out += '\n';
    const std::string_view kept = line.size() > indent ? line.substr(indent) : trim(line);
    out += kept.substr(0, kept.find_last_not_of(" \t\r") + 1);
  }
  return out;
}

// "a, b" or one entry a line: the entries, trimmed, without empty ones.
void add_entries(std::string_view text, std::vector<std::string>& out, bool commas) {
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    if (commas) end = std::min(end, text.find(','));
    const std::string_view entry = trim(text.substr(0, end));
    if (!entry.empty()) out.emplace_back(entry);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

void add_to(std::optional<std::vector<std::string>>& list, const xmlNode* node, bool commas) {
  if (!list) list.emplace();
  add_entries(text_of(node), *list, commas);
}

void append_paragraph(std::optional<std::string>& text, const std::string& paragraph) {
  if (paragraph.empty()) return;
  text = text ? *text + "\n\n" + paragraph : paragraph;
}

struct Dependency {
  std::string from;
  std::string to;  // "a,c"
  std::size_t line;
};

class XmlReader {
 public:
  explicit XmlReader(const std::string& source) : source_(source) {}

  ParsedPlan read(std::string_view text) {
    const Document doc = parse(text);
    const xmlNode* root = xmlDocGetRootElement(doc.get());
    if (!root) fail_at(source_, 1, "expected a <plan> element, found no element");
    if (!named(root, "plan"))
      fail_at(source_, line_of(root),
              "expected the root element <plan>, found <" + name_of(root) + ">");
    ParsedPlan plan;
    plan.goal = attribute(root, "goal");
    read_children(root, plan);
    if (tasks_.empty())
      fail_at(source_, line_of(root), "expected <task id=\"...\"> elements in <plan>, found none");
    link();
    plan.workflow.tasks = std::move(tasks_);
    return plan;
  }

 private:
  Document parse(std::string_view text) {
    static std::once_flag initialised;
    std::call_once(initialised, [] { xmlInitParser(); });
    const Context context(xmlNewParserCtxt(), xmlFreeParserCtxt);
    if (!context) throw Error::invalid("cannot parse XML: out of memory");
    // No network, no entity substitution (no XML_PARSE_NOENT), no DTD loading or validation;
    // errors are collected in the context rather than printed.
    const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                        XML_PARSE_BIG_LINES | XML_PARSE_NOCDATA;
    if (text.size() > static_cast<std::size_t>(INT32_MAX))
      fail_at(source_, 1, "expected an XML document of at most 2 GiB");
    Document doc(xmlCtxtReadMemory(context.get(), text.data(), static_cast<int>(text.size()),
                                   nullptr, nullptr, options),
                 xmlFreeDoc);
    const xmlError* error = xmlCtxtGetLastError(context.get());
    if (!doc || !context->wellFormed) {
      std::string message = error && error->message ? error->message : "not well-formed";
      while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
        message.pop_back();
      fail_at(source_, error && error->line > 0 ? error->line : 1,
              "expected well-formed XML: " + message);
    }
    if (doc->intSubset || doc->extSubset)
      fail_at(source_, line_of_text(text, "<!DOCTYPE"),
              "expected no DOCTYPE: a plan may not declare a DTD or entities");
    return doc;
  }

  static std::size_t line_of_text(std::string_view text, std::string_view what) {
    const std::size_t at = text.find(what);
    if (at == std::string_view::npos) return 1;
    return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + at, '\n'));
  }

  // Tasks, dependencies and the goal, at any depth outside a task: a <tasks>, <phase> or
  // <wave> wrapper holds tasks as the plan itself does.
  void read_children(const xmlNode* parent, ParsedPlan& plan) {
    for (const xmlNode* child : elements(parent)) {
      if (named(child, "task")) {
        add_task(child);
      } else if (named(child, "dependencies")) {
        add_dependencies(child, std::nullopt);
      } else if (named(child, "goal")) {
        plan.goal = block_of(child);
      } else {
        read_children(child, plan);
      }
    }
  }

  void add_task(const xmlNode* node) {
    const std::size_t line = line_of(node);
    const std::optional<std::string> id = attribute(node, "id");
    if (!id || trim(*id).empty()) fail_at(source_, line, "expected an id attribute on <task>");
    if (const auto seen = line_of_.find(*id); seen != line_of_.end())
      fail_at(source_, line,
              "task " + *id + " is defined twice (line " + std::to_string(seen->second) +
                  " and line " + std::to_string(line) + "); expected unique task ids");
    line_of_.emplace(*id, line);
    Task task;
    task.id = *id;
    task.role = attribute(node, "role");
    task.packet->model = attribute(node, "model");
    if (const std::optional<std::string> priority = attribute(node, "priority"))
      task.priority = integer(*priority, line, "priority");
    if (const std::optional<std::string> status = attribute(node, "status"))
      task.status = status_of(*status, line);
    for (const char* name : {"depends", "depends_on", "depends-on"})
      if (const std::optional<std::string> depends = attribute(node, name))
        dependencies_.push_back({*id, *depends, line});
    for (const xmlNode* child : elements(node)) add_field(task, child);
    if (task.description.empty())
      task.description = attribute(node, "title").value_or("Task " + *id);
    tasks_.push_back(std::move(task));
  }

  void add_field(Task& task, const xmlNode* node) {
    TaskPacket& p = *task.packet;
    if (named(node, "description") || named(node, "title")) {
      task.description = block_of(node);
    } else if (named(node, "instructions")) {
      append_paragraph(task.instructions, block_of(node));
    } else if (named(node, "success")) {
      p.success_criteria = block_of(node);
    } else if (named(node, "constraints")) {
      p.constraints = list_or_block(node, "constraint");
    } else if (named(node, "tools")) {
      const std::vector<const xmlNode*> tools = elements(node);
      if (tools.empty()) add_to(p.tools, node, true);
      for (const xmlNode* tool : tools) add_to(p.tools, tool, false);
    } else if (named(node, "scope")) {
      read_pair(
          node, "include", [&](auto* e) { add_to(p.files_in_scope, e, false); },  //
          "exclude", [&](auto* e) { add_to(p.files_out_of_scope, e, false); });
    } else if (named(node, "interface")) {
      read_pair(
          node, "input", [&](auto* e) { p.input_context = block_of(e); },  //
          "output", [&](auto* e) { p.output_contract = block_of(e); });
    } else if (named(node, "artifacts")) {
      read_pair(
          node, "read", [&](auto* e) { add_to(p.artifacts_to_read, e, false); },  //
          "write", [&](auto* e) { add_to(p.artifacts_to_write, e, false); });
    } else if (named(node, "verification")) {
      for (const xmlNode* entry : elements(node)) {
        if (!named(entry, "command")) unexpected(entry, "verification", "<command>");
        add_command(p, entry);
      }
    } else if (named(node, "dependencies")) {
      add_dependencies(node, task.id);
    } else {
      // An element this format does not name: kept for the agent, as a paragraph.
      append_paragraph(task.instructions, name_of(node) + ":\n" + block_of(node));
    }
  }

  // The children of `node`, each a `first` or a `second` element (<scope>: include, exclude).
  template <typename First, typename Second>
  void read_pair(const xmlNode* node, const char* first, First on_first, const char* second,
                 Second on_second) const {
    for (const xmlNode* entry : elements(node)) {
      if (named(entry, first)) {
        on_first(entry);
      } else if (named(entry, second)) {
        on_second(entry);
      } else {
        const std::string expected = "<" + std::string(first) + "> or <" + second + ">";
        unexpected(entry, name_of(node).c_str(), expected.c_str());
      }
    }
  }

  // <constraints> with <constraint> children (one a line), or a block of text.
  std::string list_or_block(const xmlNode* node, const char* item) const {
    std::string out;
    bool listed = false;
    for (const xmlNode* child : elements(node)) {
      if (!named(child, item)) continue;
      listed = true;
      out += (out.empty() ? "" : "\n") + block_of(child);
    }
    return listed ? out : block_of(node);
  }

  void add_command(TaskPacket& p, const xmlNode* node) const {
    const std::string command(trim(text_of(node)));
    if (command.empty())
      fail_at(source_, line_of(node), "expected a command in <command>, found none");
    try {
      if (!p.verification_commands) p.verification_commands.emplace();
      p.verification_commands->push_back(split_shell_words(command));
    } catch (const Error& e) {
      fail_at(source_, line_of(node),
              std::string("expected a command split like shell words: ") + e.what());
    }
  }

  // <dep from="b" to="a,c"/>: b depends on a and c. Inside a <task>, `from` defaults to it.
  void add_dependencies(const xmlNode* node, const std::optional<std::string>& task) {
    for (const xmlNode* dep : elements(node)) {
      if (!named(dep, "dep")) unexpected(dep, "dependencies", "<dep from=\"b\" to=\"a,c\"/>");
      const std::size_t line = line_of(dep);
      const std::optional<std::string> from = attribute(dep, "from");
      const std::optional<std::string> to = attribute(dep, "to");
      if ((!from && !task) || !to)
        fail_at(source_, line, "expected <dep from=\"b\" to=\"a,c\"/> (b depends on a and c)");
      dependencies_.push_back({from.value_or(task.value_or("")), *to, line});
    }
  }

  void link() {
    std::unordered_map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < tasks_.size(); ++i) index.emplace(tasks_[i].id, i);
    const auto find = [&](const std::string& id, std::size_t line) {
      const auto it = index.find(id);
      if (it == index.end())
        fail_at(source_, line,
                "dependency names task '" + id + "', but no <task id=\"" + id + "\"> defines it");
      return it->second;
    };
    for (const Dependency& dep : dependencies_) {
      Task& from = tasks_[find(std::string(trim(dep.from)), dep.line)];
      std::vector<std::string> targets;
      add_entries(dep.to, targets, true);
      for (const std::string& to : targets) {
        find(to, dep.line);
        if (std::find(from.dependencies.begin(), from.dependencies.end(), to) ==
            from.dependencies.end())
          from.dependencies.push_back(to);
      }
    }
  }

  std::int64_t integer(const std::string& text, std::size_t line, const char* what) const {
    const std::string_view value = trim(text);
    std::size_t digits = value.substr(0, 1) == "-" ? 1 : 0;
    const std::size_t first = digits;
    while (digits < value.size() && std::isdigit(static_cast<unsigned char>(value[digits])))
      ++digits;
    if (digits == first || digits != value.size() || digits - first > 9)
      fail_at(source_, line, std::string("expected an integer ") + what + ", found '" + text + "'");
    return std::stoll(std::string(value));
  }

  TaskStatus status_of(const std::string& text, std::size_t line) const {
    const std::string_view status = trim(text);
    if (status == "completed" || status == "done") return TaskStatus::kCompleted;
    if (status == "pending" || status == "todo") return TaskStatus::kPending;
    fail_at(source_, line, "expected status \"pending\" or \"completed\", found '" + text + "'");
  }

  [[noreturn]] void unexpected(const xmlNode* node, const char* parent,
                               const char* expected) const {
    fail_at(source_, line_of(node),
            std::string("expected ") + expected + " in <" + parent + ">, found <" + name_of(node) +
                ">");
  }

  const std::string& source_;
  std::vector<Task> tasks_;
  std::unordered_map<std::string, std::size_t> line_of_;
  std::vector<Dependency> dependencies_;
};

}  // namespace

ParsedPlan parse_xml_plan(std::string_view text, const std::string& source) {
  return XmlReader(source).read(text);
}

bool looks_like_xml_plan(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  const std::string_view start = trim(text.substr(0, 4096));
  return !start.empty() && start[0] == '<';
}

}  // namespace harness
