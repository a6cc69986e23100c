Feature: Session status and details
  status() answers with one of four documented strings; details() reports the
  session's configuration and state with the keys the client documents.

  @rule-STAT-1 @virtual-clock @job-duration
  Scenario: The status is one of the four documented strings throughout a session's life
    Given a session on backend fake_manila
    Then the session status is one of the documented statuses
    When I submit job 1 of 2 minutes to the session
    Then the session status is one of the documented statuses
    When 3 minutes pass
    Then the session status is one of the documented statuses
    When I submit job 2 of 2 minutes to the session
    And I close the session
    Then the session status is one of the documented statuses
    When 2 minutes pass
    Then the session status is one of the documented statuses

  @rule-STAT-1
  Scenario: A session's status is a documented string before and after close
    Given a session on backend fake_manila
    Then the session status is one of the documented statuses
    When I close the session
    Then the session status is one of the documented statuses

  @rule-STAT-2
  Scenario: details() has every documented key
    Given a session on backend fake_manila with max_time "25m"
    Then the session details have every documented key
    And the session details report backend_name as "fake_manila"
    And the session details report mode as "dedicated"
    And the session details report state as "open"
    And the session details report accepting_jobs as true
    And the session details report started_at as empty
    And the session details report closed_at as empty

  # A batch reports mode "batch" in details(), as the client's Batch class does.
  @rule-STAT-2
  Scenario: A batch reports its mode in details()
    Given a batch on backend fake_manila
    Then the session details have every documented key
    And the session details report mode as "batch"

  @rule-STAT-2 @virtual-clock @job-duration
  Scenario: details() follows the session through its life
    Given a session on backend fake_manila
    When I submit job 1 of 2 minutes to the session
    And 1 minute passes
    Then the session details report state as "active"
    And the session details report last_job_started as set
    And the session details report started_at as set
    And the session details report activated_at as set
    And the session details report last_job_completed as empty
    When 1 minute passes
    Then the session details report last_job_completed as set
    When I close the session
    Then the session details report state as "closed"
    And the session details report accepting_jobs as false
    And the session details report closed_at as set
    And the session details report usage_time as 120
