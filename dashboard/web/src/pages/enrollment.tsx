export default function Page() {
  return <p>enrollment</p>;
}
