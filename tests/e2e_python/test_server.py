"""What the server offers besides the API: reflection, health, graceful shutdown."""

from __future__ import annotations

import grpc
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

import cfsupport as cf
from cfsupport import sub

SERVICES = {
    "complaintflow.v1.ComplaintService",
    "complaintflow.v1.AuditService",
    "complaintflow.v1.SubscriptionService",
}


def test_reflection_lists_and_describes_the_services(channel):
    database = ProtoReflectionDescriptorDatabase(channel)
    services = set(database.get_services())
    assert SERVICES <= services, services
    assert "grpc.health.v1.Health" in services, services

    pool = descriptor_pool.DescriptorPool(database)
    complaints = pool.FindServiceByName("complaintflow.v1.ComplaintService")
    assert {m.name for m in complaints.methods} == {
        "FileComplaint",
        "AppendEvents",
        "GetComplaint",
        "ListComplaints",
        "ListComplaintEvents",
        "GetStatistics",
    }
    append = complaints.FindMethodByName("AppendEvents")
    assert append.input_type.full_name == "complaintflow.v1.AppendEventsRequest"
    subscribe = pool.FindServiceByName("complaintflow.v1.SubscriptionService").FindMethodByName("Subscribe")
    assert subscribe.server_streaming and not subscribe.client_streaming

    # The v1 service answers the same question (its messages are v1alpha's on the wire).
    v1 = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    (answer,) = list(v1(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=cf.CALL_TIMEOUT))
    assert SERVICES <= {s.name for s in answer.list_services_response.service}
    # And v1alpha through its generated stub, for a symbol lookup.
    alpha = reflection_pb2_grpc.ServerReflectionStub(channel)
    (found,) = list(
        alpha.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(file_containing_symbol="complaintflow.v1.ComplaintService")]),
            timeout=cf.CALL_TIMEOUT,
        )
    )
    assert found.WhichOneof("message_response") == "file_descriptor_response"


def test_health_reports_every_service_serving(channel):
    stub = health_pb2_grpc.HealthStub(channel)
    serving = health_pb2.HealthCheckResponse.SERVING
    for service in ["", *sorted(SERVICES)]:
        assert stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=cf.CALL_TIMEOUT).status == serving
    try:
        stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=cf.CALL_TIMEOUT)
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.NOT_FOUND
    else:
        raise AssertionError("an unknown service has no health")


def test_sigterm_with_a_live_subscription_stops_cleanly(server, clients, plan, tokens):
    filing = cf.file_request(plan, complaint_id="SH-0042:CMP-SHUTDOWN")
    original = clients.dealer_a.file(filing)
    reader = cf.StreamReader(clients.admin.subscriptions.Subscribe(sub.SubscribeRequest(), timeout=60))
    first = reader.next()
    assert first.event.complaint_id == "SH-0042:CMP-SHUTDOWN"

    code = server.stop(timeout=30)
    assert code == 0, f"exit {code} after SIGTERM:\n{server.log_tail()}"
    # The stream ends (cleanly or as UNAVAILABLE), and does not hang.
    assert reader.next(timeout=10) is None
    reader.thread.join(10)
    assert reader.error is None or reader.error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED), reader.error
    # Everything acknowledged is on disk: a new server on the same data directory has it.
    again = cf.start_server(server.data_dir, tokens["_file"], server.log_path.parent / "again.log")
    try:
        with grpc.insecure_channel(again.address) as channel:
            admin = cf.Client(channel, tokens["admin"])
            assert admin.get("SH-0042:CMP-SHUTDOWN").version == 0
            assert len(admin.timeline("SH-0042:CMP-SHUTDOWN")) == 1
            # Retries are still recognised after a restart.
            retried = cf.Client(channel, tokens["dealer_a"]).file(filing)
            assert (retried.replayed, retried.position) == (True, original.position)
            # The log goes on from where it was: the next event is position 1.
            reader = cf.StreamReader(admin.subscriptions.Subscribe(sub.SubscribeRequest(start_position=1), timeout=60))
            appended = admin.append("SH-0042:CMP-SHUTDOWN", cf.submission(cf.note("after the restart")))
            assert appended.position == 1
            assert reader.next().event.position == 1
            reader.cancel()
    finally:
        assert again.stop() == 0, again.log_tail()
