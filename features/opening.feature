Feature: Opening a session
  A session is opened on one named QPU. Opening it does not start it: the session
  starts when its first job begins executing, and a session that never gets a job
  closes by itself after 30 minutes.

  @rule-OPEN-1
  Scenario: Opening a session without a backend is an error
    When I try to open a session without a backend
    Then the attempt is rejected

  @rule-OPEN-2
  Scenario: A new session without jobs is pending
    Given a session on backend fake_manila
    Then the session status is "Pending"
    And the session has not started

  @rule-OPEN-3 @virtual-clock @job-duration @multi-user
  Scenario: A session starts when its first job begins, not when it is queued
    Given a session on backend fake_manila
    And another user's job theirs of 10 minutes is running on backend fake_manila
    When I submit job 1 of 1 minute to the session
    Then job 1 is queued
    And the session status is "Pending"
    And the session has not started
    When 10 minutes pass
    Then job 1 is running
    And the session status is "In progress, accepting new jobs"
    And the session started 10 minutes after it was opened

  @rule-OPEN-3 @virtual-clock
  Scenario: Opening a session and waiting does not start it
    Given a session on backend fake_manila
    When 10 minutes pass
    Then the session status is "Pending"
    And the session has not started

  # The guide says such a session "closes"; the client's status() reports a closed
  # session as "Closed", so that is what is checked.
  @rule-OPEN-4 @virtual-clock
  Scenario: A session that gets no job for 30 minutes closes by itself
    Given a session on backend fake_manila
    When 29 minutes pass
    Then the session status is "Pending"
    When 2 minutes pass
    Then the session status is "Closed"
    When I try to submit job 1 to the session
    Then the attempt is rejected

  @rule-OPEN-4 @virtual-clock @job-duration
  Scenario: A session that got a job in time does not close after 30 minutes
    Given a session on backend fake_manila
    When 20 minutes pass
    And I submit job 1 of 15 minutes to the session
    And 14 minutes pass
    Then job 1 is running
    And the session status is "In progress, accepting new jobs"

  @rule-OPEN-5 @virtual-clock @job-duration
  Scenario: Leaving the with-block closes the session like close() does
    Given a session opened by a with-block on backend fake_manila
    When I submit job 1 of 5 minutes to the session
    And I submit job 2 of 5 minutes to the session
    And the with-block ends
    Then the session status is "In progress, not accepting new jobs"
    When I try to submit job 3 to the session
    Then the attempt is rejected
    When 10 minutes pass
    Then job 1 has a result
    And job 2 has a result
    And the session status is "Closed"

  @rule-OPEN-5
  Scenario: After the with-block the session takes no more jobs but finishes its own
    Given a session opened by a with-block on backend fake_manila
    When I submit job 1 to the session
    And the with-block ends
    And I try to submit job 2 to the session
    Then the attempt is rejected
    And job 1 has a result
