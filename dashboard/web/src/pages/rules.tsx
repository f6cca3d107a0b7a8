export default function Page() {
  return <p>rules</p>;
}
