// The official archives of the named datasets, with checksums, for download() and for error messages.
//
// MD5s: CIFAR from the dataset page (https://www.cs.toronto.edu/~kriz/cifar.html); MNIST as torchvision
// pins them (ossci-datasets mirror first, since yann.lecun.com often refuses downloads); Fashion-MNIST
// from the md5 list in zalandoresearch/fashion-mnist's README. Debian's dataset-fashion-mnist package
// re-gzips the files without the original name in the header (each is 23-24 bytes smaller than the
// official one, exactly that name's length), so its files have other MD5s but the same content.

export type DownloadableName = "fashion-mnist" | "mnist" | "cifar10" | "cifar100";

export interface Resource {
  /** The name the file is saved under (and, for archives, the downloaded archive's name). */
  readonly fileName: string;
  readonly md5: string;
  /** Tried in order until one answers. */
  readonly urls: readonly string[];
  /** For a .tar.gz: the directory inside it whose contents become the dataset directory. */
  readonly extractDir?: string;
}

const MNIST_MIRRORS = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"];
const FASHION_MIRRORS = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"];

function idxResources(mirrors: readonly string[], md5s: Record<string, string>): Resource[] {
  return Object.entries(md5s).map(([fileName, md5]) => ({ fileName, md5, urls: mirrors.map((m) => m + fileName) }));
}

export const CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
export const CIFAR100_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz";

export const OFFICIAL_SOURCES: Record<DownloadableName, readonly Resource[]> = {
  "fashion-mnist": idxResources(FASHION_MIRRORS, {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
  }),
  mnist: idxResources(MNIST_MIRRORS, {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
  }),
  cifar10: [
    {
      fileName: "cifar-10-binary.tar.gz",
      md5: "c32a1d4ab5d03f1284b67883e8d87530",
      urls: [CIFAR10_URL],
      extractDir: "cifar-10-batches-bin",
    },
  ],
  cifar100: [
    {
      fileName: "cifar-100-binary.tar.gz",
      md5: "03b5dce01913d631647c71ecec9e9cb8",
      urls: [CIFAR100_URL],
      extractDir: "cifar-100-binary",
    },
  ],
};
