"""Layer modules, one family per file."""
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Tanh
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .dropout import Dropout, Dropout2d
from .flatten import Flatten, Unflatten
from .fold import Fold, Unfold
from .linear import Bilinear, Identity, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss,
                   SmoothL1Loss)
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .pixelshuffle import PixelShuffle, PixelUnshuffle
from .pooling import (AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d,
                      MaxPool3d, MaxUnpool1d, MaxUnpool2d, MaxUnpool3d)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .sparse import Embedding
from .transformer import (MultiheadAttention, Transformer, TransformerDecoder,
                          TransformerDecoderLayer, TransformerEncoder, TransformerEncoderLayer)
from .upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = ["ELU", "GELU", "LeakyReLU", "LogSoftmax", "ReLU", "Sigmoid", "SiLU", "Softmax",
           "Tanh", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d", "Dropout", "Dropout2d", "Flatten", "Unflatten",
           "Bilinear", "Identity", "Linear", "BCELoss", "BCEWithLogitsLoss",
           "CrossEntropyLoss", "L1Loss", "MSELoss", "NLLLoss", "SmoothL1Loss", "BatchNorm1d",
           "BatchNorm2d", "LayerNorm", "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d",
           "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool3d", "MaxUnpool1d", "MaxUnpool2d",
           "MaxUnpool3d", "Embedding", "Fold", "Unfold", "PixelShuffle", "PixelUnshuffle",
           "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell",
           "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]

from .activation import Softmin  # noqa: E402
from .distance import CosineSimilarity, PairwiseDistance  # noqa: E402
from .loss import (CosineEmbeddingLoss, CTCLoss, GaussianNLLLoss,  # noqa: E402
                   MarginRankingLoss, MultiLabelSoftMarginLoss, MultiMarginLoss,
                   PoissonNLLLoss, TripletMarginLoss)
from .normalization import InstanceNorm1d, InstanceNorm2d, LocalResponseNorm  # noqa: E402
from .pooling import AdaptiveMaxPool1d, AdaptiveMaxPool2d  # noqa: E402

__all__ += ["Softmin", "CosineSimilarity", "PairwiseDistance", "CosineEmbeddingLoss", "CTCLoss",
            "GaussianNLLLoss", "MarginRankingLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss",
            "PoissonNLLLoss", "TripletMarginLoss", "InstanceNorm1d", "InstanceNorm2d",
            "LocalResponseNorm", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]
__all__ += ["MultiheadAttention", "Transformer", "TransformerDecoder",
            "TransformerDecoderLayer", "TransformerEncoder", "TransformerEncoderLayer"]
