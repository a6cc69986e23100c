Feature: Session length
  A session lives at most its maximum TTL (max_time), counted from the moment it
  starts. Between jobs, an interactive TTL that the user cannot set decides how long
  the session keeps the QPU before it is deactivated. Unless a step says otherwise the
  instance has the Premium Plan defaults: interactive TTL 60 s, maximum TTL 8 h.

  @rule-TTL-1
  Scenario Outline: max_time is accepted as seconds or as a duration string
    Given a session on backend fake_manila with max_time <max_time>
    Then the session details report max_time as <seconds>

    Examples:
      | max_time     | seconds |
      | 1500         | 1500    |
      | "25m"        | 1500    |
      | "2h 30m 40s" | 9040    |

  @rule-TTL-2
  Scenario: Without max_time the instance's defaults are reported
    Given a session on backend fake_manila
    Then the session details report max_time as 28800
    And the session details report interactive_timeout as 60

  @rule-TTL-3 @virtual-clock @job-duration @multi-user
  Scenario: The max-TTL timer starts when the first job begins
    Given a session on backend fake_manila with max_time "30m"
    And another user's job theirs of 20 minutes is running on backend fake_manila
    When I submit job 1 of 1 minute to the session
    And 35 minutes pass
    Then job 1 is done
    And the session status is "Pending"
    When 20 minutes pass
    Then the session status is "Closed"

  @rule-TTL-3 @virtual-clock @job-duration
  Scenario: A session opened long before its first job still gets its whole max_time
    Given a session on backend fake_manila with max_time "30m"
    When 20 minutes pass
    And I submit job 1 of 25 minutes to the session
    And 24 minutes pass
    Then job 1 is running
    And the session status is "In progress, accepting new jobs"

  @rule-TTL-4 @virtual-clock @job-duration
  Scenario: At max TTL the running job finishes and queued jobs fail
    Given a session on backend fake_manila with max_time "10m"
    When I submit job 1 of 8 minutes to the session
    And I submit job 2 of 8 minutes to the session
    And I submit job 3 of 1 minute to the session
    And 10 minutes pass
    Then the session status is "Closed"
    And job 3 is failed
    When 6 minutes pass
    Then job 2 has a result
    And job 1 has a result
    And job 3 has no result because it failed

  @rule-TTL-4 @virtual-clock @job-duration
  Scenario: Eight hours after it started a session without max_time is closed
    Given a session on backend fake_manila
    When I submit job 1 of 5 minutes to the session
    And 8 hours pass
    Then the session status is "Closed"
    And job 1 has a result
    When I try to submit job 2 to the session
    Then the attempt is rejected

  # The deactivated state is reported by the client's status() as "Pending" (state
  # "inactive"), the same string as a session that has not started.
  @rule-TTL-5 @virtual-clock @job-duration
  Scenario: A session with no job queued within the interactive TTL is deactivated
    Given a session on backend fake_manila
    When I submit job 1 of 2 minutes to the session
    And 2 minutes pass
    Then job 1 is done
    And the session status is "In progress, accepting new jobs"
    When 30 seconds pass
    Then the session status is "In progress, accepting new jobs"
    When 31 seconds pass
    Then the session status is "Pending"
    And the session details report state as "inactive"

  @rule-TTL-6 @virtual-clock @job-duration @multi-user
  Scenario: A deactivated session's next job waits in the queue, then reactivates it
    Given a session on backend fake_manila
    When I submit job 1 of 1 minute to the session
    And 3 minutes pass
    Then the session status is "Pending"
    When another user submits job theirs of 10 minutes to backend fake_manila
    And I submit job 2 of 1 minute to the session
    Then job theirs is running
    And job 2 is queued
    And the session status is "Pending"
    When 10 minutes pass
    Then job 2 is running
    And the session status is "In progress, accepting new jobs"

  @rule-TTL-7
  Scenario Outline: The interactive TTL is the instance's whatever max_time is asked for
    Given a session on backend fake_manila with max_time <max_time>
    Then the session details report interactive_timeout as 60

    Examples:
      | max_time |
      | "1m"     |
      | "2h"     |

  @rule-TTL-7 @plans @virtual-clock @job-duration
  Scenario: An instance configured with another interactive TTL reports and applies it
    Given my instance's interactive TTL is 2 minutes
    And a session on backend fake_manila
    Then the session details report interactive_timeout as 120
    When I submit job 1 of 1 minute to the session
    And 2 minutes pass
    Then the session status is "In progress, accepting new jobs"
    When 2 minutes pass
    Then the session status is "Pending"
