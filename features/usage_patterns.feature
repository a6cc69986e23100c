Feature: Usage patterns
  Sessions suit iterative workloads that wait for each result before choosing the next
  input, and several workloads can share one session, told apart by job tags.

  @rule-USE-1 @virtual-clock @job-duration @multi-user
  Scenario: An iterative workload keeps its session active and ahead of other users
    Given a session on backend fake_manila
    When I submit job 1 of 2 minutes to the session
    And another user submits job theirs of 5 minutes to backend fake_manila
    And I run 3 iterations of 2 minutes, each waiting for its result and pausing 30 seconds before the next
    Then each of my jobs has a result
    And the session status is "In progress, accepting new jobs"
    And job theirs is queued

  @rule-USE-1
  Scenario: Several iterations in a session each get a result
    Given a session on backend fake_manila
    When I run 3 iterations, each waiting for its result before the next
    Then each of my jobs has a result
    And the session status is "In progress, accepting new jobs"

  @rule-USE-2 @job-list
  Scenario: Job tags tell apart two workloads sharing a session
    Given a session on backend fake_manila
    When I submit job a1 tagged "cobyla" to the session
    And I submit job b1 tagged "nelder-mead" to the session
    And I submit job a2 tagged "cobyla" to the session
    Then the jobs tagged "cobyla" are a1 and a2
    And the jobs tagged "nelder-mead" are b1
