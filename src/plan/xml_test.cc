#include "plan/xml.h"

#include <gtest/gtest.h>

#include "plan/plan_queries_test.h"

namespace harness {
namespace {

using namespace plan_test;  // NOLINT: the importers' test queries

ParsedPlan parse(const std::string& text) { return parse_xml_plan(text, "plan.xml"); }

std::string error_of(const std::string& text) {
  return refusal_of([&] { parse(text); });
}

TEST(XmlPlan, EveryPacketFieldIsRead) {
  const ParsedPlan plan = parse(R"(<?xml version="1.0"?>
<plan goal="Ship it">
  <task id="a" role="backend" model="opus" priority="3">
    <description>Build the API</description>
    <instructions>
      Step one.
        Indented detail.
    </instructions>
    <success>All tests pass</success>
    <scope><include>src/api/</include><include>src/lib/</include><exclude>src/ui/</exclude></scope>
    <interface><input>the schema</input><output>an HTTP API</output></interface>
    <constraints><constraint>No new dependencies</constraint><constraint>C++20</constraint></constraints>
    <tools>bash, git</tools>
    <verification><command>make test</command><command>sh -c 'echo "ok"'</command></verification>
    <artifacts><read>docs/a.md</read><write>out.json</write></artifacts>
  </task>
</plan>)");
  EXPECT_EQ(plan.goal, "Ship it");
  const Task& a = task(plan, "a");
  EXPECT_EQ(a.description, "Build the API");
  EXPECT_EQ(a.instructions, "Step one.\n  Indented detail.");
  EXPECT_EQ(a.role, "backend");
  EXPECT_EQ(a.priority, 3);
  const TaskPacket& p = *a.packet;
  EXPECT_EQ(p.model, "opus");
  EXPECT_EQ(p.success_criteria, "All tests pass");
  EXPECT_EQ(p.files_in_scope, (Ids{"src/api/", "src/lib/"}));
  EXPECT_EQ(p.files_out_of_scope, Ids{"src/ui/"});
  EXPECT_EQ(p.input_context, "the schema");
  EXPECT_EQ(p.output_contract, "an HTTP API");
  EXPECT_EQ(p.constraints, "No new dependencies\nC++20");
  EXPECT_EQ(p.tools, (Ids{"bash", "git"}));
  EXPECT_EQ(p.verification_commands,
            (std::vector<Ids>{{"make", "test"}, {"sh", "-c", "echo \"ok\""}}));
  EXPECT_EQ(p.artifacts_to_read, Ids{"docs/a.md"});
  EXPECT_EQ(p.artifacts_to_write, Ids{"out.json"});
}

TEST(XmlPlan, DependenciesFromDepElementsTaskAttributesAndNestedDeps) {
  const ParsedPlan plan = parse(R"(<plan>
  <tasks>
    <task id="a"/>
    <task id="b"><description>B</description></task>
    <task id="c" depends="a"><dependencies><dep to="b"/></dependencies></task>
    <task id="d" title="D"/>
    <task id="e" depends_on="a" depends-on="d"/>
  </tasks>
  <dependencies><dep from="b" to="a"/><dep from="d" to=" a , c "/></dependencies>
</plan>)");
  EXPECT_EQ(ids(plan), (Ids{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(task(plan, "e").dependencies, (Ids{"a", "d"}));
  EXPECT_EQ(task(plan, "a").description, "Task a");
  EXPECT_EQ(task(plan, "d").description, "D");
  EXPECT_EQ(task(plan, "b").dependencies, Ids{"a"});
  EXPECT_EQ(task(plan, "c").dependencies, (Ids{"a", "b"}));
  EXPECT_EQ(task(plan, "d").dependencies, (Ids{"a", "c"}));
}

TEST(XmlPlan, TasksInAnyWrapperOutsideATask) {
  const ParsedPlan plan = parse(
      "<plan><phase n=\"1\"><task id=\"a\"/><wave><task id=\"b\"/></wave></phase>"
      "<phase><dependencies><dep from=\"b\" to=\"a\"/></dependencies></phase></plan>");
  EXPECT_EQ(ids(plan), (Ids{"a", "b"}));
  EXPECT_EQ(task(plan, "b").dependencies, Ids{"a"});
}

TEST(XmlPlan, CdataToolElementsStatusAndUnknownElementsAsInstructions) {
  const ParsedPlan plan = parse(R"(<plan><goal>
  A goal
</goal><task id="1" status="completed"><instructions><![CDATA[if a < b && c]]></instructions>
<notes>Remember X</notes><tools><tool>rg</tool><tool>jq</tool></tools></task></plan>)");
  EXPECT_EQ(plan.goal, "A goal");
  EXPECT_EQ(task(plan, "1").status, TaskStatus::kCompleted);
  EXPECT_EQ(task(plan, "1").instructions, "if a < b && c\n\nnotes:\nRemember X");
  EXPECT_EQ(task(plan, "1").packet->tools, (Ids{"rg", "jq"}));
}

TEST(XmlPlan, ErrorsNameTheLine) {
  EXPECT_EQ(error_of("<plan>\n<task id=\"a\">\n</tusk></plan>\n"),
            "plan.xml line 3: expected well-formed XML: Opening and ending tag mismatch: task "
            "line 2 and tusk");
  EXPECT_EQ(error_of("<tasks/>"),
            "plan.xml line 1: expected the root element <plan>, found <tasks>");
  EXPECT_EQ(error_of("<plan>\n</plan>"),
            "plan.xml line 1: expected <task id=\"...\"> elements in <plan>, found none");
  EXPECT_EQ(error_of("<plan>\n<task/>\n</plan>"),
            "plan.xml line 2: expected an id attribute on <task>");
  EXPECT_EQ(
      error_of("<plan>\n<task id=\"a\"/>\n<task id=\"a\"/></plan>"),
      "plan.xml line 3: task a is defined twice (line 2 and line 3); expected unique task ids");
  EXPECT_EQ(error_of("<plan><task id=\"a\"/>\n<dependencies><dep from=\"a\" to=\"z\"/>"
                     "</dependencies></plan>"),
            "plan.xml line 2: dependency names task 'z', but no <task id=\"z\"> defines it");
  EXPECT_EQ(error_of("<plan><task id=\"a\"/>\n<dependencies><dep to=\"a\"/></dependencies></plan>"),
            "plan.xml line 2: expected <dep from=\"b\" to=\"a,c\"/> (b depends on a and c)");
  EXPECT_EQ(error_of("<plan><task id=\"a\" priority=\"high\"/></plan>"),
            "plan.xml line 1: expected an integer priority, found 'high'");
  EXPECT_EQ(error_of("<plan><task id=\"a\">\n<scope><file>x</file></scope></task></plan>"),
            "plan.xml line 2: expected <include> or <exclude> in <scope>, found <file>");
  EXPECT_EQ(error_of("<plan><task id=\"a\"><verification>\n<command>echo 'x</command>"
                     "</verification></task></plan>"),
            "plan.xml line 2: expected a command split like shell words: 'echo 'x': Text ended "
            "before matching quote was found for '. (The text was \u201c"
            "echo 'x\u201d)");
}

TEST(XmlPlan, NoEntityIsExpandedAndNoDtdIsAccepted) {
  EXPECT_EQ(error_of("<?xml version=\"1.0\"?>\n<!DOCTYPE plan [<!ENTITY x SYSTEM "
                     "\"file:///etc/passwd\">]>\n<plan><task id=\"a\"><instructions>&x;"
                     "</instructions></task></plan>"),
            "plan.xml line 2: expected no DOCTYPE: a plan may not declare a DTD or entities");
  const std::string laughs =
      "<!DOCTYPE plan [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
      "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><plan><task id=\"t\"><instructions>&c;"
      "</instructions></task></plan>";
  // libxml2 refuses the amplification itself; either way nothing is expanded.
  EXPECT_NE(error_of(laughs).find("plan.xml line 1: expected "), std::string::npos);
  EXPECT_NE(error_of("<plan><task id=\"a\"><instructions>&undefined;</instructions></task></plan>"),
            "no error");
}

TEST(XmlPlan, DetectionSeesAnElement) {
  EXPECT_TRUE(looks_like_xml_plan("\xEF\xBB\xBF  <?xml version=\"1.0\"?><plan/>"));
  EXPECT_TRUE(looks_like_xml_plan("\n<plan>"));
  EXPECT_FALSE(looks_like_xml_plan("# Plan\n<plan>"));
}

}  // namespace
}  // namespace harness
