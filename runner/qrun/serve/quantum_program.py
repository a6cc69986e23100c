"""The ``executor`` program's wire format: quantum-program ``params`` in, results out.

qiskit-ibm-runtime's client-side primitives (``executor_sampler.Sampler``,
``executor_estimator.Estimator``) and its ``Executor`` send one ``QuantumProgram`` as
``params`` of schema ``v2.0`` (``ibm_quantum_schemas``). The service answers with a
``QuantumProgramResultModel`` of the same schema; the client then post-processes it into a
``PrimitiveResult`` by the program's ``semantic_role`` and ``passthrough_data``. Both
directions use the client's own schema models and converters, so what is accepted and
written is exactly what the client understands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qrun.serve.encoding import EncodingError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from qiskit_ibm_runtime.quantum_program import QuantumProgram
    from qiskit_ibm_runtime.results import QuantumProgramResult

__all__ = ["SCHEMA_VERSION", "decode_quantum_program", "encode_program_result"]

#: The params and result schema this service reads and writes.
SCHEMA_VERSION = "v2.0"


def decode_quantum_program(params: Mapping[str, object]) -> QuantumProgram:
    """The quantum program of an ``executor`` job's ``params``.

    Raises :class:`EncodingError` naming the schema problem or what does not decode.
    """
    from pydantic import ValidationError
    from qiskit_ibm_runtime.quantum_program.params_converters import (
        QUANTUM_PROGRAM_PARAMS_CONVERTERS,
    )

    version = params.get("schema_version")
    if version != SCHEMA_VERSION:
        raise EncodingError(
            f"params.schema_version: expected {SCHEMA_VERSION!r} for program 'executor', "
            f"got {version!r}"
        )
    converter = QUANTUM_PROGRAM_PARAMS_CONVERTERS[SCHEMA_VERSION]
    try:
        model = converter.model.model_validate(dict(params))
    except ValidationError as error:
        problems = "; ".join(
            f"params.{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in error.errors()[:3]
        )
        raise EncodingError(problems) from None
    try:
        program, _options = converter.decoder(model)
        for item in program.items:
            # A samplex travels as its graph; it samples only once its order is settled.
            samplex = getattr(item, "samplex", None)
            if samplex is not None:
                samplex.finalize()
    except Exception as error:
        raise EncodingError(
            f"params.quantum_program: does not decode ({type(error).__name__}: {error})"
        ) from error
    decoded: QuantumProgram = program
    return decoded


def encode_program_result(result: QuantumProgramResult) -> str:
    """A quantum program's result as the JSON document of ``GET /jobs/{id}/results``.

    Each item's arrays are compressed tensors; the execution metadata has no chunk timing
    (a simulator has no QPU chunks to report).
    """
    from ibm_quantum_schemas.common import CompressedTensorModel
    from ibm_quantum_schemas.executor.version_2_0 import (
        ItemMetadataModel,
        MetadataModel,
        QuantumProgramResultItemModel,
        QuantumProgramResultModel,
    )
    from qiskit_ibm_runtime.quantum_program.converters.converters_2_0 import (
        passthrough_data_to_2_0,
    )

    items = [
        QuantumProgramResultItemModel(
            results={name: CompressedTensorModel.from_numpy(value) for name, value in item.items()},
            metadata=ItemMetadataModel(),
        )
        for item in result
    ]
    model = QuantumProgramResultModel(
        data=items,
        metadata=MetadataModel(chunk_timing=[]),
        passthrough_data=passthrough_data_to_2_0(result.passthrough_data),
        semantic_role=getattr(result, "_semantic_role", None),
    )
    document: str = model.model_dump_json()
    return document
