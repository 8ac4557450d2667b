#include "server/plan_intake.h"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <thread>
#include <vector>

namespace harness {
namespace {

TEST(PlanIntake, AdmitsOneAtATimeInTheOrderAsked) {
  asio::io_context io;
  auto intake = std::make_shared<PlanIntake>();
  std::vector<int> admitted;
  std::vector<PlanIntake::Pass> passes;
  for (int i = 0; i < 3; ++i)
    intake->enter(io.get_executor(), [&, i](PlanIntake::Pass pass) {
      admitted.push_back(i);
      passes.push_back(std::move(pass));
    });
  io.run();
  io.restart();
  ASSERT_EQ(admitted, std::vector<int>{0});  // at once; the others wait
  PlanIntake::Pass copy = passes[0];
  passes[0].reset();
  io.run();
  io.restart();
  EXPECT_EQ(admitted, std::vector<int>{0}) << "a copy of the pass still holds the intake";
  copy.reset();
  io.run();
  io.restart();
  EXPECT_EQ(admitted, (std::vector<int>{0, 1}));
  passes[1].reset();
  io.run();
  io.restart();
  EXPECT_EQ(admitted, (std::vector<int>{0, 1, 2}));
  passes[2].reset();
  intake->enter(io.get_executor(), [&](PlanIntake::Pass) { admitted.push_back(3); });
  EXPECT_EQ(admitted.back(), 3) << "a free intake admits at once";
  intake->close();
}

TEST(PlanIntake, ClosingForgetsWhoeverWaitsAndTurnsAwayLaterComers) {
  asio::io_context io;
  auto intake = std::make_shared<PlanIntake>();
  PlanIntake::Pass held;
  int later = 0;
  intake->enter(io.get_executor(), [&](PlanIntake::Pass pass) { held = std::move(pass); });
  intake->enter(io.get_executor(), [&](PlanIntake::Pass) { ++later; });
  intake->close();
  held.reset();
  intake->enter(io.get_executor(), [&](PlanIntake::Pass) { ++later; });
  io.run();
  EXPECT_EQ(later, 0);
}

TEST(PlanIntake, ParsesOnAThreadOfItsOwn) {
  auto intake = std::make_shared<PlanIntake>();
  std::promise<std::thread::id> parser;
  asio::post(intake->parser(), [&] { parser.set_value(std::this_thread::get_id()); });
  EXPECT_NE(parser.get_future().get(), std::this_thread::get_id());
  intake->close();
}

}  // namespace
}  // namespace harness
