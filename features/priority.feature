Feature: Session priority
  While a session is active it has dedicated, exclusive use of its QPU: its queued jobs
  go before jobs other users queued earlier on the same backend, also while it drains
  after close().

  @rule-PRIO-1 @virtual-clock @job-duration @multi-user
  Scenario: An active session's next job goes before another user's earlier job
    Given a session on backend fake_manila
    When I submit job 1 of 5 minutes to the session
    And another user submits job theirs of 5 minutes to backend fake_manila
    And 1 minute passes
    And I submit job 2 of 5 minutes to the session
    And 4 minutes pass
    Then job 2 is running
    And job theirs is queued

  # While the session is active its interactive window also belongs to it: another
  # user's job waits until the session is deactivated.
  @rule-PRIO-1 @virtual-clock @job-duration @multi-user
  Scenario: Another user's job runs once the session is deactivated
    Given a session on backend fake_manila
    When I submit job 1 of 5 minutes to the session
    And another user submits job theirs of 5 minutes to backend fake_manila
    And 5 minutes pass
    Then job 1 is done
    And job theirs is queued
    When 61 seconds pass
    Then the session status is "Pending"
    And job theirs is running

  @rule-PRIO-2 @virtual-clock @job-duration @multi-user
  Scenario: A draining session's jobs keep their priority until it is closed
    Given a session on backend fake_manila
    When I submit job 1 of 5 minutes to the session
    And I submit job 2 of 5 minutes to the session
    And another user submits job theirs of 1 minute to backend fake_manila
    And 1 minute passes
    And I close the session
    And 4 minutes pass
    Then job 2 is running
    And job theirs is queued
    And the session status is "In progress, not accepting new jobs"
    When 5 minutes pass
    Then the session status is "Closed"
    And job theirs is running
