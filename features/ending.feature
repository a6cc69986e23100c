Feature: Ending a session
  close() lets the session finish the jobs it has and then closes it at once;
  cancel() ends it now and cancels its queued jobs. Neither takes new jobs.

  @rule-END-1 @virtual-clock @job-duration
  Scenario: Cancelling a session cancels its queued jobs
    Given a session on backend fake_manila
    When I submit job 1 of 5 minutes to the session
    And I submit job 2 of 5 minutes to the session
    And I submit job 3 of 5 minutes to the session
    And 1 minute passes
    And I cancel the session
    Then the session status is "Closed"
    And job 2 is cancelled
    And job 3 is cancelled
    And job 3 has no result because it was cancelled

  # cancel() in the client is documented as "cancel all pending jobs in a session";
  # the guide adds that the session ends. Jobs are rejected afterwards as for close().
  @rule-END-1
  Scenario: A cancelled session takes no more jobs
    Given a session on backend fake_manila
    When I cancel the session
    And I try to submit job 1 to the session
    Then the attempt is rejected

  @rule-END-2 @virtual-clock @job-duration
  Scenario: A closed session runs its queued and running jobs to completion
    Given a session on backend fake_manila
    When I submit job 1 of 5 minutes to the session
    And I submit job 2 of 5 minutes to the session
    And 1 minute passes
    And I close the session
    Then the session status is "In progress, not accepting new jobs"
    And the session details report accepting_jobs as false
    And job 1 is running
    And job 2 is queued
    When 9 minutes pass
    Then job 1 has a result
    And job 2 has a result

  @rule-END-2
  Scenario: Results of jobs submitted before close() can be retrieved
    Given a session on backend fake_manila
    When I submit job 1 to the session
    And I submit job 2 to the session
    And I close the session
    Then job 1 has a result
    And job 2 has a result

  @rule-END-3
  Scenario: Submitting to a closed session is rejected
    Given a session on backend fake_manila
    When I close the session
    And I try to submit job 1 to the session
    Then the attempt is rejected

  @rule-END-3 @virtual-clock @job-duration @job-list
  Scenario: Submitting while the session drains is rejected and queues nothing
    Given a session on backend fake_manila
    When I submit job 1 of 5 minutes to the session
    And I close the session
    And I try to submit job 2 to the session
    Then the attempt is rejected
    And the session has 1 job
    And the session status is "In progress, not accepting new jobs"

  @rule-END-4 @virtual-clock @job-duration @multi-user
  Scenario: A closed session that finishes its last job is closed at once
    Given a session on backend fake_manila
    When I submit job 1 of 5 minutes to the session
    And another user submits job theirs of 5 minutes to backend fake_manila
    And I close the session
    And 5 minutes pass
    Then job 1 is done
    And the session status is "Closed"
    And job theirs is running

  @rule-END-4 @virtual-clock
  Scenario: Closing a session without jobs closes it at once
    Given a session on backend fake_manila
    When I close the session
    Then the session status is "Closed"

  @rule-END-5 @virtual-clock @job-duration
  Scenario: Draining after close() still ends at max TTL
    Given a session on backend fake_manila with max_time "10m"
    When I submit job 1 of 6 minutes to the session
    And I submit job 2 of 6 minutes to the session
    And I submit job 3 of 6 minutes to the session
    And I close the session
    And 10 minutes pass
    Then the session status is "Closed"
    And job 3 is failed
    When 2 minutes pass
    Then job 1 has a result
    And job 2 has a result
    And job 3 has no result because it failed
