from cpms.audit.anchor import anchor_write
from cpms.audit.chain import verify

from .models import ChainVerification


def chain_verify(*, triggered_by: str = "") -> ChainVerification:
    """Verify the chain (against the anchors too), then anchor the head it verified."""
    report = verify()
    anchor_write()
    return ChainVerification.objects.create(intact=report.intact, links=report.links, problems=report.problems[:200],
                                            triggered_by=triggered_by[:150])
