"""Periodic jobs of `zhigu worker`: a lease in the database lets one worker of many run each job per interval."""
import threading
from datetime import timedelta

from zhigu.jobs import services as jobs
from zhigu.jobs.models import JobLease
from zhigu.extensions import db
from zhigu.notify import digests, inbox, scan, subscriptions


def test_a_lease_is_taken_once_until_it_expires(ctx):
    now = jobs._now()
    assert jobs.claim("digests", 60, now) is True
    assert jobs.claim("digests", 60, now + timedelta(seconds=59)) is False
    assert jobs.claim("notify-scan", 60, now) is True  # another job has its own lease
    assert jobs.claim("digests", 60, now + timedelta(seconds=60)) is True
    lease = db.session.get(JobLease, "digests")
    assert lease.until == now + timedelta(seconds=120) and lease.holder == jobs.HOLDER


def test_workers_racing_for_a_lease_let_exactly_one_win(app):
    now, results, start = jobs._now(), [], threading.Barrier(6)

    def worker():
        with app.app_context():
            start.wait()
            results.append(jobs.claim("digests", 60, now))
            db.session.remove()

    for round_now in (now, now + timedelta(seconds=61)):  # the first lease is inserted, the next updated
        now, results[:] = round_now, []
        threads = [threading.Thread(target=worker) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [False] * 5 + [True]


def test_two_workers_send_digests_once_per_interval(ctx, monkeypatch):
    ctx.app.config.update(DIGEST_INTERVAL=3600, NOTIFY_SCAN_INTERVAL=0)
    runs = []
    monkeypatch.setattr(digests, "send_digests", lambda: runs.append("sent") or {"sent": 1, "failed": 0})
    now = jobs._now()

    first = jobs.run_due_jobs(now)
    second = jobs.run_due_jobs(now + timedelta(minutes=5))  # another machine's worker, same database
    later = jobs.run_due_jobs(now + timedelta(hours=1))

    assert first == {"digests": {"sent": 1, "failed": 0}} and second == {} and "digests" in later
    assert runs == ["sent", "sent"]


def test_a_failing_job_is_logged_and_the_others_still_run(ctx, monkeypatch, caplog):
    ctx.app.config.update(DIGEST_INTERVAL=3600, NOTIFY_SCAN_INTERVAL=300)

    def broken():
        raise OSError("mail server on fire")

    monkeypatch.setattr(scan, "scan_new_cases", broken)
    monkeypatch.setattr(digests, "send_digests", lambda: {"sent": 0, "failed": 0})

    assert jobs.run_due_jobs() == {"digests": {"sent": 0, "failed": 0}}
    assert "Periodic job notify-scan failed" in caplog.text


def test_the_worker_tells_followers_of_new_cases(app, runner, cast, make_case):
    app.config.update(NOTIFY_SCAN_INTERVAL=300, DIGEST_INTERVAL=0)
    with app.test_request_context():
        subscriptions.subscribe(db.session.get(type(cast.member_a), cast.member_a.id),
                                {"kind": "sector", "target": "agriculture"})
    farm = make_case(cast.author, title="Container farm in Dubai", sector="agriculture")

    result = runner.invoke(args=["worker", "--once"])

    assert result.exit_code == 0, result.output
    with app.test_request_context():
        member = db.session.get(type(cast.member_a), cast.member_a.id)
        assert [(n.kind, n.case_id) for n in inbox.notifications_of(member)] == [("new_case", farm.id)]
