// The `xml` plan format: task packets (README, "Plan formats").
//
//   <plan goal="Ship the thing">
//     <task id="a" role="backend" model="opus" priority="2">
//       <description>Title</description>
//       <instructions>...</instructions>          -> instructions
//       <success>...</success>                    -> success_criteria
//       <scope><include>src/a</include><exclude>src/b</exclude></scope>
//       <interface><input>...</input><output>...</output></interface>
//                                                 -> input_context, output_contract
//       <constraints>...</constraints>
//       <tools>bash, git</tools>                  (or <tool> children)
//       <verification><command>make test</command></verification>
//       <artifacts><read>docs/a.md</read><write>out.json</write></artifacts>
//     </task>
//     <dependencies><dep from="b" to="a,c"/></dependencies>   b depends on a and c
//   </plan>
//
// Tasks may sit in wrappers (<tasks>, <phase>, ...); a task may also name what it depends on
// with depends="a,c" (or depends_on, depends-on) or <dependencies><dep to="a"/></dependencies>
// inside it. Elements of a task this format does not name are kept as paragraphs of its
// instructions ("notes:\n...").
//
// Parsed by libxml2 without network access, entity substitution or DTD loading; a document
// with a DOCTYPE is refused, so no entity (internal or external) is ever expanded.
#pragma once

#include <string>
#include <string_view>

#include "plan/parsed_plan.h"

namespace harness {

// Throws Error::invalid naming `source` (see fail_at), the line and what was expected: XML
// that is not well-formed, a root other than <plan>, a task without id or listed twice (naming
// both lines), a dependency on a task the plan does not define, a verification command with
// unbalanced quotes. The workflow is not validated.
ParsedPlan parse_xml_plan(std::string_view text, const std::string& source);

// Whether `text` starts with '<' (after a byte order mark and blanks): format detection.
bool looks_like_xml_plan(std::string_view text);

}  // namespace harness
