from bench.loadtest.audit import verdict

DONE = {"status": "completed", "error_type": None, "output": "hello\n"}


def test_an_acknowledged_execution_the_store_lacks_is_lost():
    outcome = verdict({"a": "hello", "b": "hello"}, {"a": DONE})

    assert (outcome["lost"], outcome["lost_ids"]) == (1, ["b"])


def test_a_queued_or_running_execution_is_stuck_even_if_no_user_was_told_of_it():
    stored = {"a": {**DONE, "status": "running"}, "x": {**DONE, "status": "queued"}}

    outcome = verdict({"a": "hello"}, stored)

    assert (outcome["stuck"], outcome["stuck_ids"], outcome["unacknowledged"]) == (2, ["a", "x"], 1)


def test_a_final_execution_that_is_not_what_its_script_gives_is_wrong():
    stored = {"a": DONE, "b": {"status": "failed", "error_type": "timeout", "output": ""}, "c": DONE}

    outcome = verdict({"a": "hello", "b": "fails", "c": "echo"}, stored)

    assert outcome["wrong"] == 2
    assert "failed/timeout instead of failed/runtime_error" in outcome["wrong_examples"]["b"]
    assert "instead of 'HI THERE" in outcome["wrong_examples"]["c"]


def test_a_run_whose_executions_all_ended_as_expected_has_nothing_to_report():
    stored = {"a": DONE, "b": {"status": "failed", "error_type": "runtime_error", "output": ""}}

    outcome = verdict({"a": "hello", "b": "fails"}, stored)

    assert (outcome["lost"], outcome["stuck"], outcome["wrong"]) == (0, 0, 0)
    assert outcome["by_status"] == {"completed": 1, "failed": 1}
