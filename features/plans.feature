Feature: Plans
  Sessions are not available on the Open Plan: its workloads run in job mode or in
  batch mode.

  @rule-PLAN-1 @plans
  Scenario: An Open Plan instance cannot open a session
    Given my instance is on the open plan
    When I try to open a session on backend fake_manila
    Then the attempt is rejected with a message naming the plan

  @rule-PLAN-1 @plans
  Scenario: An Open Plan instance can still run a batch
    Given my instance is on the open plan
    And a batch on backend fake_manila
    When I submit job 1 to the session
    Then job 1 has a result

  @rule-PLAN-1 @plans
  Scenario: An Open Plan instance can still run a job in job mode
    Given my instance is on the open plan
    When I submit job 1 in job mode to backend fake_manila
    Then job 1 has a result

  @rule-PLAN-1 @plans
  Scenario: A Premium Plan instance can open a session
    Given my instance is on the premium plan
    When I try to open a session on backend fake_manila
    Then the attempt succeeds
