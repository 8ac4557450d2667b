#include "cli/init_edits.h"

#include <algorithm>
#include <array>
#include <regex>

#include "core/error.h"
#include "core/json.h"

namespace harness {

namespace fs = std::filesystem;

namespace {

struct HookEvent {
  const char* claude;   // the event's name in settings.json
  const char* harness;  // the `harness hook` argument
};
constexpr std::array<HookEvent, 4> kHookEvents{{{"SessionStart", "session-start"},
                                                {"Stop", "stop"},
                                                {"SubagentStop", "subagent-stop"},
                                                {"PreCompact", "pre-compact"}}};

// How a JSON file is laid out, so that a rewrite looks like the user's own.
struct JsonStyle {
  int indent = 2;  // -1: all on one line
  char indent_char = ' ';
  bool trailing_newline = true;
};

JsonStyle style_of(const std::string& text) {
  JsonStyle style;
  style.trailing_newline = !text.empty() && text.back() == '\n';
  std::size_t end = text.find_last_not_of(" \t\r\n");
  if (text.find('\n') >= end) {
    style.indent = -1;
    return style;
  }
  for (std::size_t line = text.find('\n'); line != std::string::npos;
       line = text.find('\n', line + 1)) {
    const std::size_t first = text.find_first_not_of(" \t", line + 1);
    if (first == std::string::npos || first == line + 1 || text[first] == '\n') continue;
    style.indent_char = text[line + 1];
    style.indent = static_cast<int>(first - line - 1);
    break;
  }
  return style;
}

// "F: line L, column C: what" from parse_json's "... at byte N: ..." message.
[[noreturn]] void bad_json(const fs::path& file, const std::string& text, const std::string& why) {
  std::smatch m;
  std::string where;
  if (std::regex_search(why, m, std::regex("byte ([0-9]+)"))) {
    const std::size_t byte = std::min<std::size_t>(std::stoull(m[1]), text.size());
    const std::size_t line = std::count(text.begin(), text.begin() + byte, '\n') + 1;
    const std::size_t line_start = text.rfind('\n', byte == 0 ? 0 : byte - 1);
    const std::size_t column = byte - (line_start == std::string::npos ? 0 : line_start + 1) + 1;
    where = ": line " + std::to_string(line) + ", column " + std::to_string(column);
  }
  throw Error::invalid(file.string() + where + ": not valid JSON (" + why +
                       "); fix it or move it away, nothing was written");
}

// The file as a JSON object (an empty one when it does not exist), and its style.
std::pair<Json, JsonStyle> read_object(const FileText& text, const fs::path& file) {
  if (!text) return {Json::object(), JsonStyle{}};
  Json j;
  try {
    j = parse_json(*text);
  } catch (const Error& e) {
    bad_json(file, *text, e.what());
  }
  if (!j.is_object())
    throw Error::invalid(file.string() +
                         ": expected a JSON object at the top; nothing was written");
  return {std::move(j), style_of(*text)};
}

FileText write_object(const Json& j, const JsonStyle& style, bool remove_when_empty) {
  if (remove_when_empty && j.empty()) return std::nullopt;
  std::string text = j.dump(style.indent, style.indent_char, false, Json::error_handler_t::strict);
  if (style.trailing_newline) text += "\n";
  return text;
}

// The member `key` of `parent`, which must be of `type` (an object or an array); created empty
// when missing and `create`, else nullptr.
Json* member(Json& parent, const char* key, Json::value_t type, const fs::path& file, bool create) {
  auto it = parent.find(key);
  if (it == parent.end()) {
    if (!create) return nullptr;
    parent[key] = Json(type);
    return &parent[key];
  }
  if (it->type() != type)
    throw Error::invalid(file.string() + ": \"" + key + "\" must be a JSON " +
                         (type == Json::value_t::object ? "object" : "array") +
                         "; nothing was written");
  return &*it;
}

Json* object_member(Json& parent, const char* key, const fs::path& file, bool create) {
  return member(parent, key, Json::value_t::object, file, create);
}

// Claude Code's list of the .mcp.json servers the user approved, so that the agents' sessions
// start with harness's without asking.
constexpr const char* kEnabledServers = "enabledMcpjsonServers";

Json* array_member(Json& parent, const char* key, const fs::path& file) {
  return member(parent, key, Json::value_t::array, file, true);
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

bool is_harness_hook(const Json& hook, const char* event) {
  if (!hook.is_object()) return false;
  const auto command = hook.find("command");
  if (command == hook.end() || !command->is_string()) return false;
  const std::string c = command->get<std::string>();
  const std::string tail = std::string(" hook ") + event;
  return ends_with(c, "harness" + tail) || ends_with(c, "harness'" + tail);
}

// The event's array of hook groups in "hooks", checked.
Json* event_groups(Json& hooks, const HookEvent& e, const fs::path& file) {
  auto it = hooks.find(e.claude);
  if (it == hooks.end()) return nullptr;
  if (!it->is_array())
    throw Error::invalid(file.string() + ": \"hooks\"." + e.claude +
                         " must be a JSON array; nothing was written");
  return &*it;
}

bool has_harness_hook(const Json& groups, const char* event) {
  for (const Json& group : groups) {
    if (!group.is_object() || !group.contains("hooks") || !group["hooks"].is_array()) continue;
    for (const Json& hook : group["hooks"])
      if (is_harness_hook(hook, event)) return true;
  }
  return false;
}

// The argument as a POSIX shell word.
std::string shell_word(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789/._-+:@%") == std::string::npos)
    return s;
  std::string quoted = "'";
  for (char c : s) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

FileText add_claude_settings(const FileText& settings, const fs::path& file,
                             const std::string& harness) {
  auto [j, style] = read_object(settings, file);
  Json& hooks = *object_member(j, "hooks", file, true);
  bool changed = false;
  for (const HookEvent& e : kHookEvents) {
    Json* groups = event_groups(hooks, e, file);
    if (groups != nullptr && has_harness_hook(*groups, e.harness)) continue;
    if (groups == nullptr) {
      hooks[e.claude] = Json::array();
      groups = &hooks[e.claude];
    }
    groups->push_back(
        Json{{"hooks", Json::array({{{"type", "command"},
                                     {"command", shell_word(harness) + " hook " + e.harness}}})}});
    changed = true;
  }
  // After the hooks: a member added to `j` moves the others (`hooks` among them).
  Json& enabled = *array_member(j, kEnabledServers, file);
  if (std::find(enabled.begin(), enabled.end(), Json("harness")) == enabled.end()) {
    enabled.push_back("harness");
    changed = true;
  }
  return changed ? write_object(j, style, false) : settings;
}

FileText remove_claude_settings(const FileText& settings, const fs::path& file) {
  if (!settings) return settings;
  auto [j, style] = read_object(settings, file);
  bool changed = false;
  if (j.contains(kEnabledServers)) {
    Json& enabled = *array_member(j, kEnabledServers, file);
    const auto ours = std::remove(enabled.begin(), enabled.end(), Json("harness"));
    changed = ours != enabled.end();
    enabled.erase(ours, enabled.end());
    if (enabled.empty()) j.erase(kEnabledServers);
  }
  Json* hooks = object_member(j, "hooks", file, false);
  if (hooks == nullptr) return changed ? write_object(j, style, true) : settings;
  for (const HookEvent& e : kHookEvents) {
    Json* groups = event_groups(*hooks, e, file);
    if (groups == nullptr || !has_harness_hook(*groups, e.harness)) continue;
    Json kept = Json::array();
    for (Json group : *groups) {
      if (group.is_object() && group.contains("hooks") && group["hooks"].is_array()) {
        Json& list = group["hooks"];
        list.erase(std::remove_if(list.begin(), list.end(),
                                  [&](const Json& h) { return is_harness_hook(h, e.harness); }),
                   list.end());
        if (list.empty()) continue;
      }
      kept.push_back(std::move(group));
    }
    if (kept.empty())
      hooks->erase(e.claude);
    else
      *groups = std::move(kept);
    changed = true;
  }
  if (!changed) return settings;
  if (hooks->empty()) j.erase("hooks");
  return write_object(j, style, true);
}

FileText add_mcp_server(const FileText& mcp_json, const fs::path& file,
                        const std::string& harness) {
  auto [j, style] = read_object(mcp_json, file);
  Json& servers = *object_member(j, "mcpServers", file, true);
  if (servers.contains("harness")) return mcp_json;
  servers["harness"] = Json{{"command", harness}, {"args", Json::array({"mcp"})}};
  return write_object(j, style, false);
}

FileText remove_mcp_server(const FileText& mcp_json, const fs::path& file) {
  if (!mcp_json) return mcp_json;
  auto [j, style] = read_object(mcp_json, file);
  Json* servers = object_member(j, "mcpServers", file, false);
  if (servers == nullptr || !servers->contains("harness")) return mcp_json;
  const Json& ours = (*servers)["harness"];
  if (!ours.is_object() || ours.value("args", Json()) != Json::array({"mcp"})) return mcp_json;
  servers->erase("harness");
  if (servers->empty()) j.erase("mcpServers");
  return write_object(j, style, true);
}

FileText add_codex_server(const FileText& config, const std::string& harness) {
  if (config && std::regex_search(
                    *config, std::regex(R"((^|\n)\s*\[\s*mcp_servers\.("harness"|harness)\s*\])")))
    return config;
  return add_marked_block(
      config, "# harness:begin (added by `harness init --agent codex`)", "# harness:end",
      "[mcp_servers.harness]\ncommand = " + toml_string(harness) + "\nargs = [\"mcp\"]\n");
}

FileText add_marked_block(const FileText& text, const std::string& begin, const std::string& end,
                          const std::string& body) {
  if (text && text->find(begin) != std::string::npos) return text;
  std::string out = text.value_or("");
  if (!out.empty() && out.back() != '\n') out += '\n';
  if (!out.empty()) out += '\n';
  return out + begin + "\n" + body + end + "\n";
}

FileText remove_marked_block(const FileText& text, const std::string& begin,
                             const std::string& end) {
  if (!text) return text;
  std::size_t from = text->find(begin);
  if (from == std::string::npos || (from > 0 && (*text)[from - 1] != '\n')) return text;
  std::size_t to = text->find("\n" + end, from);
  if (to == std::string::npos) return text;
  to += 1 + end.size();
  if (to < text->size() && (*text)[to] == '\n') ++to;
  // The blank line add_marked_block put before the block.
  if (from >= 2 && (*text)[from - 2] == '\n') --from;
  std::string out = text->substr(0, from) + text->substr(to);
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace harness
