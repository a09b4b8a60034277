"""Public endpoints: shared atomic counters per address and per ID number, the proxy count, no caching."""

import copy
import threading

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from health.api.throttling import AtomicRateThrottle
from health.models import Person
from health.services.persons import person_resolve
from tests import factories
from tests.health.helpers import without_computed_at

QUERY = "/api/v1/status/query/"
DECLARE = "/api/v1/status/declarations/"


def framework(rate: str, *, num_proxies: int = 0) -> dict:
    config = copy.deepcopy(settings.REST_FRAMEWORK)
    config["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(config["DEFAULT_THROTTLE_RATES"], rate)
    config["NUM_PROXIES"] = num_proxies
    return config


def test_parallel_increments_over_the_limit_admit_exactly_the_limit():
    # given a counter with a limit of 25 and 200 threads hitting it at once (Redis in CI, memory otherwise)
    limit, threads = 25, 200
    barrier = threading.Barrier(threads)
    counts: list[int] = []

    def hit():
        barrier.wait()
        counts.append(AtomicRateThrottle.counter_increment("throttle_test_parallel", 60))

    # when they all increment
    workers = [threading.Thread(target=hit) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)

    # then every increment got its own number: exactly `limit` of them are within the limit
    assert sorted(counts) == list(range(1, threads + 1))
    assert sum(1 for count in counts if count <= limit) == limit
    assert cache.get("throttle_test_parallel") == threads


@pytest.mark.django_db
def test_parallel_requests_over_the_limit_are_answered_429_beyond_exactly_the_limit():
    # given a rate of 10 per minute and 40 requests sent at once from one address (invalid bodies: no writes)
    limit, requests = 10, 40
    barrier = threading.Barrier(requests)
    codes: list[int] = []

    def ask():
        client = APIClient()
        barrier.wait()
        codes.append(
            client.post(QUERY, {"name": "张三", "id_number": "bad"}, format="json", REMOTE_ADDR="10.9.9.9").status_code
        )

    with override_settings(REST_FRAMEWORK=framework(f"{limit}/minute")):
        workers = [threading.Thread(target=ask) for _ in range(requests)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)

    # then exactly `limit` got through to validation (400) and the rest were throttled
    assert sorted(codes) == [400] * limit + [429] * (requests - limit)


def test_a_forged_forwarded_for_header_does_not_change_the_address_without_proxies(api, db):
    # given no proxy in front (NUM_PROXIES=0) and a limit of 2 per minute
    with override_settings(REST_FRAMEWORK=framework("2/minute", num_proxies=0)):
        # when one client sends each request with a different forged X-Forwarded-For
        codes = [
            api.post(
                QUERY,
                factories.person_payload(),
                format="json",
                REMOTE_ADDR="10.1.1.1",
                HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
            ).status_code
            for i in range(3)
        ]
    # then it is still counted as one address
    assert codes == [200, 200, 429]


def test_behind_one_proxy_the_address_the_proxy_appended_is_the_client(api, db):
    # given one trusted proxy (it appends the peer address it saw) and a limit of 2 per minute
    with override_settings(REST_FRAMEWORK=framework("2/minute", num_proxies=1)):
        # when a client forges the left part of the header, and another client comes through the same proxy
        forged = [
            api.post(
                QUERY,
                factories.person_payload(),
                format="json",
                REMOTE_ADDR="10.0.0.254",
                HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 203.0.113.7",
            ).status_code
            for i in range(3)
        ]
        other = api.post(
            QUERY,
            factories.person_payload(),
            format="json",
            REMOTE_ADDR="10.0.0.254",
            HTTP_X_FORWARDED_FOR="203.0.113.8",
        )
    # then the forged part is ignored (one client, throttled on the third), and the other client is its own bucket
    assert forged == [200, 200, 429]
    assert other.status_code == 200


def test_the_id_number_counter_holds_across_addresses_and_spellings(api, db):
    # given a limit of 2 per minute and one ID number
    payload = factories.person_payload()
    with override_settings(REST_FRAMEWORK=framework("2/minute")):
        # when it is asked from three addresses, the last time in lower case
        codes = [api.post(QUERY, payload, format="json", REMOTE_ADDR=f"10.2.0.{i}").status_code for i in range(2)]
        lower = api.post(
            QUERY, {**payload, "id_number": payload["id_number"].lower()}, format="json", REMOTE_ADDR="10.2.0.9"
        )
    # then the third is throttled, and the counter never holds the plain number
    assert codes == [200, 200]
    assert lower.status_code == 429
    assert lower["Cache-Control"] == "no-store"


def test_throttle_windows_expire(api, db):
    # given a counter opened with a one-second window
    assert AtomicRateThrottle.counter_increment("throttle_test_expiry", 1) == 1
    assert AtomicRateThrottle.counter_increment("throttle_test_expiry", 1) == 2
    # when the window has passed
    cache.delete("throttle_test_expiry")  # what the expiry does; waiting a second would slow the suite
    # then counting starts over
    assert AtomicRateThrottle.counter_increment("throttle_test_expiry", 1) == 1


def test_every_public_answer_is_no_store_and_an_unknown_person_looks_like_a_known_one(api, db):
    # given a known person with no data and a stranger
    known = factories.person_payload("李四")
    person_resolve(**known)
    stranger = factories.person_payload("王五")
    persons = Person.objects.count()
    # when both are queried and declared, and a bad request is sent
    answers = [
        api.post(QUERY, known, format="json"),
        api.post(QUERY, stranger, format="json"),
        api.post(QUERY, {**known, "name": "别人"}, format="json"),
        api.post(QUERY, {"name": "x", "id_number": "1"}, format="json"),
    ]
    # then every answer is no-store; the three status answers have the same keys and values but the time
    assert {answer["Cache-Control"] for answer in answers} == {"no-store"}
    bodies = [without_computed_at(answer.json()) for answer in answers[:3]]
    assert bodies[0] == bodies[1] == bodies[2]
    assert [set(answer.json()) for answer in answers[:3]] == [
        {"status", "label", "reasons", "valid_until", "computed_at", "pass"}
    ] * 3
    assert answers[3].status_code == 400
    assert Person.objects.count() == persons


def test_a_window_on_redis_ends_and_is_not_pushed_back_by_later_requests():
    from django.core.cache.backends.redis import RedisCache

    if not isinstance(cache._connections[cache._alias], RedisCache):
        pytest.skip("the time to live is Redis's (INCR + EXPIRE NX in one script call)")
    client = cache._cache.get_client(write=True)
    redis_key = cache.make_and_validate_key("throttle_test_ttl")
    # given a window of 60 seconds opened by a first request
    assert AtomicRateThrottle.counter_increment("throttle_test_ttl", 60) == 1
    # when later requests count in it (one asking for a longer window)
    assert AtomicRateThrottle.counter_increment("throttle_test_ttl", 3600) == 2
    # then the window still ends within its first 60 seconds, and the count reads back as a number
    assert 0 < client.ttl(redis_key) <= 60
    assert cache.get("throttle_test_ttl") == 2


def test_both_public_throttles_are_counted_in_one_round_trip_on_redis(api, db, monkeypatch):
    from django.core.cache.backends.redis import RedisCache

    if not isinstance(cache._connections[cache._alias], RedisCache):
        pytest.skip("round trips are Redis's")
    from redis.client import Redis

    api.post(QUERY, factories.person_payload(), format="json", REMOTE_ADDR="10.3.0.1")  # the script is loaded
    sent = []
    execute = Redis.execute_command
    monkeypatch.setattr(
        Redis, "execute_command", lambda self, *args, **kwargs: sent.append(args[:3]) or execute(self, *args, **kwargs)
    )
    # when one valid query is sent
    response = api.post(QUERY, factories.person_payload(), format="json", REMOTE_ADDR="10.3.0.1")
    # then the three counters (address, number, number and name; INCR + EXPIRE NX each) went in one command
    assert response.status_code == 200
    assert [(command, keys) for command, _sha, keys in sent] == [("EVALSHA", 3)]


def test_the_counting_script_is_loaded_again_after_the_server_forgot_it(api, db):
    from django.core.cache.backends.redis import RedisCache

    if not isinstance(cache._connections[cache._alias], RedisCache):
        pytest.skip("scripts are Redis's")
    assert AtomicRateThrottle.counter_increment("throttle_test_script", 60) == 1
    # given a server that lost its scripts (a restart, a failover)
    cache._cache.get_client(write=True).script_flush()
    # then counting goes on in the same window
    assert AtomicRateThrottle.counter_increment("throttle_test_script", 60) == 2


@pytest.mark.parametrize("rate", ["", "60", "0/minute", "60/fortnight", "sixty/minute"])
def test_a_malformed_public_rate_stops_the_start_instead_of_failing_every_request(rate):
    import os
    import subprocess
    import sys

    environment = {**os.environ, "PUBLIC_THROTTLE_RATE": rate, "DJANGO_SETTINGS_MODULE": "config.settings.local"}
    started = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "PUBLIC_THROTTLE_RATE must look like 60/minute" in started.stderr


def test_the_usual_rates_start():
    import os
    import subprocess
    import sys

    for rate in ("60/minute", "5/s", "1000/hour", "100000/day"):
        environment = {**os.environ, "PUBLIC_THROTTLE_RATE": rate, "DJANGO_SETTINGS_MODULE": "config.settings.local"}
        started = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=environment, timeout=60)
        assert started.returncode == 0, rate
