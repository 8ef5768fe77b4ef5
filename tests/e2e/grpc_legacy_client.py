# The Python client of the original invoice OCR server's README, kept as its
# users wrote it (tests run it unchanged against our server; only the address is
# pointed at the test server's free port). Stubs come from model.proto:
#   python -m grpc_tools.protoc -I. --python_out=. --grpc_python_out=. model.proto
import json

import grpc

import model_pb2
import model_pb2_grpc

channel = grpc.insecure_channel('localhost:50051')
stub = model_pb2_grpc.ModelServiceStub(channel)

response = stub.ExtractOCR(model_pb2.UserRequest(
    image=open('invoice.jpg', 'rb').read(),
    prompt="Extract all fields into a structured JSON."))
data = json.loads(response.output)
print(data)
